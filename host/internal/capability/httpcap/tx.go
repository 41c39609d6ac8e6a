package httpcap

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// DoTx sends req as Do does, inside the effect attempt's transaction t:
//
//   - A mutating request (any method but GET, HEAD and OPTIONS), or any
//     request with a Compensate, is recorded with t.Apply before it is sent,
//     as a tx.KindHTTPRequest operation with Service "http:<hostname>" and the
//     redacted URL as Target. Its Compensation holds the compensating request
//     (a tx.Request); without Compensate it is Irreversible.
//   - A safe request without Compensate is not recorded: it changes nothing.
//   - A nil t (transactions disabled) records nothing.
//
// The compensating request passes the same checks as a request (grant,
// method, headers, size; its method is required) before anything is
// recorded or sent, so a request whose undoing would be refused is refused
// itself. A request that was sent and failed stays recorded: it may have
// taken effect, and a rollback sends its compensation.
//
// DoTx returns what Do returns; an error from the check of the compensating
// request; or, when t refuses the operation (it is rolling back or
// committed, or its journal failed), t's error, wrapped, with nothing sent.
// t needs a Compensator for tx.KindHTTPRequest unless every request is
// irreversible.
func (c *Client) DoTx(ctx context.Context, t *tx.Tx, req abi.HTTPRequest) (abi.HTTPResponse, error) {
	p, err := c.prepare(req)
	if err != nil {
		return abi.HTTPResponse{}, err
	}
	if t == nil || (p.safe() && req.Compensate == nil) {
		return c.send(ctx, p)
	}
	detail, _ := json.Marshal(struct {
		Method string `json:"method"`
	}{p.method}) // cannot fail: one string
	op := tx.Operation{Kind: tx.KindHTTPRequest, Service: "http:" + p.host, Target: p.target, Detail: detail}
	if req.Compensate == nil {
		op.Irreversible = true
	} else {
		cr, err := c.prepareCompensation(req.Compensate.Method, req.Compensate.URL, req.Compensate.Headers, req.Compensate.Body)
		if err != nil {
			return abi.HTTPResponse{}, fmt.Errorf("%w (the compensation of %s %s)", err, p.method, p.target)
		}
		op.Compensation = &tx.Compensation{Request: &tx.Request{
			Method: cr.method,
			URL:    cr.url.String(),
			Header: req.Compensate.Headers,
			Body:   req.Compensate.Body,
		}}
	}

	var resp abi.HTTPResponse
	sent := false
	err = t.Apply(op, func() error {
		sent = true
		var err error
		resp, err = c.send(ctx, p)
		return err
	})
	if err != nil && !sent {
		return abi.HTTPResponse{}, fmt.Errorf("httpcap: %s %s: not sent: %w", p.method, p.target, err)
	}
	return resp, err
}

// prepareCompensation checks a compensating request and marks it as one.
func (c *Client) prepareCompensation(method, rawURL string, header map[string][]string, body []byte) (*prepared, error) {
	if method == "" {
		return nil, fmt.Errorf("%w: compensating request has no method", ErrInvalidRequest)
	}
	p, err := c.prepare(abi.HTTPRequest{Method: method, URL: rawURL, Headers: header, Body: body})
	if err != nil {
		return nil, err
	}
	p.compensating = true
	return p, nil
}

// Compensator undoes tx.KindHTTPRequest operations recorded by DoTx by
// sending their compensating request through a Client, with the Client's
// grants and limits and its default timeout (the rollback's deadline applies
// too). Register it with the transaction manager:
//
//	tx.Config{Compensators: map[string]tx.Compensator{tx.KindHTTPRequest: httpcap.NewCompensator(c)}}
//
// The grants are the Client's, so a manager whose transactions belong to
// plugins with different grants needs a Compensator per grant set (one
// manager per plugin), or the union of the grants: DoTx has already checked
// each compensating request against the plugin's own grants.
//
// A Compensator is safe for concurrent use by multiple goroutines.
type Compensator struct {
	c *Client
}

// NewCompensator returns a Compensator that sends through c.
func NewCompensator(c *Client) *Compensator { return &Compensator{c: c} }

// Compensate sends op's compensating request and blocks until its response
// arrives or ctx ends. A 2xx status is success, and so are 404 Not Found and
// 410 Gone for a DELETE, since what it should remove is absent; the response
// body is discarded. Sending it twice, or for a request that never reached
// the server, must be harmless: that is the plugin author's duty when
// writing the compensation.
//
// It returns an error wrapping ErrInvalidRequest for an operation that is
// not a tx.KindHTTPRequest with a compensating request, ErrDenied for a
// compensating request to a host the Client does not grant (nothing is
// sent), or what Do returns for a failed request.
func (k *Compensator) Compensate(ctx context.Context, op tx.Operation) error {
	if op.Kind != tx.KindHTTPRequest || op.Compensation == nil || op.Compensation.Request == nil {
		return fmt.Errorf("%w: op %d (%s %s) is not an http.request with a compensating request", ErrInvalidRequest, op.Seq, op.Kind, op.Target)
	}
	r := op.Compensation.Request
	p, err := k.c.prepareCompensation(r.Method, r.URL, r.Header, r.Body)
	if err != nil {
		return fmt.Errorf("%w (compensating op %d, %s)", err, op.Seq, op.Target)
	}
	_, err = k.c.send(ctx, p)
	return err
}

// Compensator is a tx.Compensator.
var _ tx.Compensator = (*Compensator)(nil)
