package capcall

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/capability/httpcap"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// http sends one request to a granted host, behind that host's breaker. A request that
// changes something is recorded in the attempt's transaction first, with its
// compensating request or as irreversible.
func (a *Attempt) http(ctx context.Context, req []byte) (abi.Status, []byte) {
	client := a.Plugin.HTTP
	if client == nil {
		return failure(abi.StatusDenied, "%s: no host is granted", abi.OpHTTPRequest)
	}
	var r abi.HTTPRequest
	if err := json.Unmarshal(req, &r); err != nil {
		return failure(abi.StatusInvalidInput, "%s: %v", abi.OpHTTPRequest, err)
	}
	var resp abi.HTTPResponse
	run := func() error {
		var err error
		if a.Tx != nil {
			resp, err = client.DoTx(ctx, a.Tx, r)
		} else {
			resp, err = client.Do(ctx, r)
		}
		return err
	}
	if err := a.guard(ctx, httpcap.Service(r.URL), run, httpFailure); err != nil {
		switch {
		case errors.Is(err, errBreakerOpen):
			return breakerStatus(abi.OpHTTPRequest, err)
		case errors.Is(err, tx.ErrRolledBack), errors.Is(err, tx.ErrCommitted):
			return txFailure(abi.OpHTTPRequest, err)
		}
		s, e := httpcap.StatusOf(err)
		return s, abi.AppendError(nil, e)
	}
	return response(resp)
}

// httpFailure reports whether an HTTP error says the remote service is failing: a
// timeout, a transport error, a retryable status (5xx, 429). A refused or malformed
// request, or a 4xx, says nothing about the service.
func httpFailure(err error) bool {
	if se, ok := errors.AsType[*httpcap.StatusError](err); ok {
		return se.Retryable
	}
	return errors.Is(err, httpcap.ErrTimeout) || errors.Is(err, httpcap.ErrUnavailable)
}
