package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// attempt is one attempt of one effect: what the capability host functions act for while
// the guest runs it. It belongs to the goroutine running the attempt (host functions run
// on that goroutine too), so it needs no lock.
type attempt struct {
	plugin *Plugin
	// tx records the attempt's side effects; nil when the caller disabled transactions.
	tx *tx.Tx
	// breakers says whether capability calls go through the per-service breakers.
	breakers bool
}

// dispatch runs one capability op with its JSON request (a view of guest memory, valid
// only during the call) and returns the status and the JSON response or error payload.
func (a *attempt) dispatch(ctx context.Context, op string, req []byte) (abi.Status, []byte) {
	p := a.plugin
	if c, ok := abi.CapabilityOf(op); ok && !slices.Contains(p.manifest.Capabilities, c) {
		return failure(abi.StatusDenied, "%s: the manifest does not list the %q capability", op, c)
	}
	switch op {
	case abi.OpFSRead, abi.OpFSWrite, abi.OpFSDelete, abi.OpFSMove, abi.OpFSCopy, abi.OpFSList, abi.OpFSMkdir:
		return a.fs(ctx, op, req)
	case abi.OpKVGet, abi.OpKVPut, abi.OpKVDelete, abi.OpKVList:
		return a.kv(ctx, op, req)
	case abi.OpHTTPRequest:
		return a.http(ctx, req)
	case abi.OpEventsPublish:
		return a.publish(ctx, req)
	case abi.OpTxCompensate:
		return a.registerCompensation(req)
	default:
		return failure(abi.StatusUnsupported, "unknown op %q", op)
	}
}

// publish holds an event in the transaction's outbox (published at commit, dropped at
// rollback), or publishes it at once when the attempt has no transaction. The topic must
// be one the manifest's publishes lists.
func (a *attempt) publish(ctx context.Context, req []byte) (abi.Status, []byte) {
	var e abi.Event
	if err := json.Unmarshal(req, &e); err != nil {
		return failure(abi.StatusInvalidInput, "events.publish: %v", err)
	}
	if !slices.Contains(a.plugin.manifest.Publishes, e.Topic) {
		return failure(abi.StatusDenied, "events.publish: topic %q is not in the manifest's publishes %v", e.Topic, a.plugin.manifest.Publishes)
	}
	if e.EnvelopeID == "" {
		e.EnvelopeID = uuid.NewString()
	}
	if err := e.Validate(); err != nil {
		return failure(abi.StatusInvalidInput, "events.publish: %v", err)
	}
	var err error
	if a.tx != nil {
		err = a.tx.Hold(e)
	} else {
		err = busOf(a.plugin.host.container).Publish(ctx, e)
	}
	if err != nil {
		return failure(abi.StatusUnavailable, "events.publish: %v", err)
	}
	return response(abi.EventsPublishResponse{EnvelopeID: e.EnvelopeID})
}

// registerCompensation records a guest-defined compensation with the transaction: on
// rollback the host calls the plugin's onex_compensate with its name and payload.
func (a *attempt) registerCompensation(req []byte) (abi.Status, []byte) {
	var r abi.TxCompensateRequest
	if err := json.Unmarshal(req, &r); err != nil {
		return failure(abi.StatusInvalidInput, "tx.compensate: %v", err)
	}
	if r.Name == "" {
		return failure(abi.StatusInvalidInput, "tx.compensate: name is required")
	}
	if a.tx == nil {
		return failure(abi.StatusUnsupported, "tx.compensate: this effect runs without a transaction")
	}
	if !slices.Contains(a.plugin.exports, abi.ExportCompensate) {
		return failure(abi.StatusUnsupported, "tx.compensate: the plugin does not export %s", abi.ExportCompensate)
	}
	payload, _ := json.Marshal(r.Payload) // a []byte: cannot fail
	err := a.tx.Record(tx.Operation{Kind: tx.KindGuest, Service: guestService(a.plugin), Target: r.Name,
		Compensation: &tx.Compensation{Payload: payload}})
	if err != nil {
		return txFailure("tx.compensate", err)
	}
	return response(abi.Empty{})
}

// guestService names a plugin's guest compensations: the digest finds the same code again.
func guestService(p *Plugin) string { return "guest:" + p.digest }

// failure is a status with its error payload.
func failure(s abi.Status, format string, args ...any) (abi.Status, []byte) {
	return s, abi.AppendError(nil, abi.Error{Code: s.String(), Message: fmt.Sprintf(format, args...), Retryable: s.Retryable()})
}

// txFailure reports a transaction that no longer accepts operations: rolled back under
// the attempt by the host's shutdown, for instance.
func txFailure(op string, err error) (abi.Status, []byte) {
	if errors.Is(err, tx.ErrRolledBack) || errors.Is(err, tx.ErrCommitted) {
		return failure(abi.StatusUnavailable, "%s: the transaction has ended: %v", op, err)
	}
	return failure(abi.StatusInternal, "%s: %v", op, err)
}

// response encodes v as the op's JSON response.
func response(v any) (abi.Status, []byte) {
	b, err := json.Marshal(v)
	if err != nil {
		return failure(abi.StatusInternal, "encode response: %v", err)
	}
	return abi.StatusOK, b
}
