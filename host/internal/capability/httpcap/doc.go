// Package httpcap is the http capability of effect nodes: outbound HTTP
// requests, made by the host on a plugin's behalf, to the hosts the operator
// granted and to no others.
//
// A [Client] holds one plugin's grants — glob patterns over the host name
// such as "api.example.com" or "*.example.com", compiled once by [New] with
// github.com/gobwas/glob — and a [Config] of limits. [Client.Do] turns an
// [abi.HTTPRequest] into a request, sends it and returns an
// [abi.HTTPResponse]:
//
//   - The URL must be absolute, http or https, and its host name (lower
//     case, without port or trailing dot) must match a grant; otherwise the
//     request is refused with [ErrInvalidRequest] or [ErrDenied] before
//     anything is sent. The grant is on the name, not on the address it
//     resolves to, and covers every port.
//   - Redirects are followed, at most [MaxRedirects] of them, and every
//     target is checked against the grants like the first URL: a redirect
//     to a host that is not granted fails the call with [ErrDenied] without
//     being requested. After MaxRedirects the last 3xx response is returned
//     as it is (and fails unless the request lists it as a success code).
//     Cookies are never kept.
//   - The method must be one of [Config.Methods]; headers must be valid;
//     the body at most [Config.MaxRequestBytes]; the response body at most
//     [Config.MaxResponseBytes], or the request's own smaller limit.
//   - The request's TimeoutMS (else [Config.Timeout]) bounds the whole
//     exchange, body included, and the caller's context bounds it too.
//   - A status outside the request's success codes (200–299 by default)
//     fails the call with a [*StatusError]: 5xx and 429 are retryable.
//
// [StatusOf] maps any error of the package to the [abi.Status] and
// [abi.Error] payload the host returns to the guest. [Service] names the
// circuit breaker of a URL's host: "http:<hostname>".
//
// # Transactions
//
// [Client.DoTx] runs a request inside an effect attempt's [tx.Tx]. A
// mutating request (any method but GET, HEAD and OPTIONS) is recorded with
// [tx.Tx.Apply] before it is sent, as an operation of kind
// [tx.KindHTTPRequest]: with the request's Compensate, the operation holds
// that compensating request; without it, it is irreversible, and a rollback
// reports it so. A safe request is not recorded, unless it carries a
// Compensate, which is taken as the plugin's word that it changes something.
// The compensating request is checked (grant, method, headers, size) before
// the request is recorded or sent, so an operation that could not be undone
// is refused up front.
//
// A [Compensator], registered with the transaction manager for
// tx.KindHTTPRequest, sends compensating requests on rollback, through the
// same grant checks. An operation is recorded before its request is sent and
// may never have reached the server; and after a crash a journal may replay
// a compensation twice. Making the compensating request idempotent and
// harmless in both cases (DELETE of what may not exist, PUT of a
// before-image) is the plugin author's duty; the host helps by counting 404
// and 410 as success for a compensating DELETE.
//
// Every type here is safe for concurrent use by multiple goroutines. The
// package starts no goroutine of its own (net/http does, for connections).
package httpcap
