package capcall

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/breaker"
	fscap "github.com/onexhost/onex-host/host/internal/capability/fs"
	"github.com/onexhost/onex-host/host/internal/capability/httpcap"
	"github.com/onexhost/onex-host/host/internal/capability/kv"
	"github.com/onexhost/onex-host/host/internal/tx"
	"github.com/onexhost/onex-host/host/tracing"
)

// Plugin is what the capability calls of one loaded effect plugin reach and act for:
// its identity, what its manifest allows, its opened capabilities and the host's
// breakers and bus. Package host builds it when it loads the plugin; it is read-only
// afterwards and safe for concurrent use by multiple goroutines.
type Plugin struct {
	Name   string
	Digest string
	// Capabilities and Publishes are the manifest's.
	Capabilities []abi.Capability
	Publishes    []string
	// Compensates says whether the module exports onex_compensate.
	Compensates bool
	// FS, KV and HTTP are the opened capabilities: nil unless the manifest asks for one
	// and the operator granted it. KV is the node's own namespace of the host's store.
	FS   *fscap.Roots
	KV   kv.Store
	HTTP *httpcap.Client
	// Breakers holds the host's per-service circuit breakers.
	Breakers *breaker.Registry
	// Publish publishes an event at once (an attempt without a transaction).
	Publish func(context.Context, abi.Event) error
}

// Close releases the opened capabilities.
func (p *Plugin) Close() error {
	var errs []error
	if p.FS != nil {
		errs = append(errs, p.FS.Close())
	}
	if p.KV != nil {
		errs = append(errs, p.KV.Close())
	}
	if p.HTTP != nil {
		p.HTTP.CloseIdleConnections()
	}
	return errors.Join(errs...)
}

// GuestService names the guest compensations of the plugin with digest: the digest finds
// the same code again.
func GuestService(digest string) string { return "guest:" + digest }

// Attempt is one attempt of one effect (or one compensation): what the capability host
// functions act for while the guest runs it. It belongs to the goroutine running the
// attempt (host functions run on that goroutine too), so it needs no lock.
type Attempt struct {
	Plugin *Plugin
	// Tx records the attempt's side effects; nil when the caller disabled transactions
	// (or for a compensation, whose own calls are not recorded again).
	Tx *tx.Tx
	// Breakers says whether capability calls go through the per-service breakers.
	Breakers bool
}

// Call runs one capability op with its JSON request (a view of guest memory, valid
// only during the call) and returns the status and the JSON response or error payload.
func (a *Attempt) Call(ctx context.Context, op string, req []byte) (abi.Status, []byte) {
	ctx, sp := tracing.Start(ctx, "onex.capability", trace.SpanKindInternal)
	if !sp.IsRecording() {
		return a.call(ctx, op, req)
	}
	sp.SetAttributes(attribute.String("onex.op", op))
	status, resp := a.call(ctx, op, req)
	sp.SetAttributes(attribute.Int("onex.status", int(status)))
	if status != abi.StatusOK {
		sp.SetStatus(codes.Error, string(resp))
	}
	sp.End()
	return status, resp
}

func (a *Attempt) call(ctx context.Context, op string, req []byte) (abi.Status, []byte) {
	p := a.Plugin
	if c, ok := abi.CapabilityOf(op); ok && !slices.Contains(p.Capabilities, c) {
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
func (a *Attempt) publish(ctx context.Context, req []byte) (abi.Status, []byte) {
	var e abi.Event
	if err := json.Unmarshal(req, &e); err != nil {
		return failure(abi.StatusInvalidInput, "events.publish: %v", err)
	}
	if !slices.Contains(a.Plugin.Publishes, e.Topic) {
		return failure(abi.StatusDenied, "events.publish: topic %q is not in the manifest's publishes %v", e.Topic, a.Plugin.Publishes)
	}
	if e.EnvelopeID == "" {
		e.EnvelopeID = uuid.NewString()
	}
	if err := e.Validate(); err != nil {
		return failure(abi.StatusInvalidInput, "events.publish: %v", err)
	}
	var err error
	if a.Tx != nil {
		err = a.Tx.Hold(e)
	} else {
		err = a.Plugin.Publish(ctx, e)
	}
	if err != nil {
		return failure(abi.StatusUnavailable, "events.publish: %v", err)
	}
	return response(abi.EventsPublishResponse{EnvelopeID: e.EnvelopeID})
}

// registerCompensation records a guest-defined compensation with the transaction: on
// rollback the host calls the plugin's onex_compensate with its name and payload.
func (a *Attempt) registerCompensation(req []byte) (abi.Status, []byte) {
	var r abi.TxCompensateRequest
	if err := json.Unmarshal(req, &r); err != nil {
		return failure(abi.StatusInvalidInput, "tx.compensate: %v", err)
	}
	if r.Name == "" {
		return failure(abi.StatusInvalidInput, "tx.compensate: name is required")
	}
	if a.Tx == nil {
		return failure(abi.StatusUnsupported, "tx.compensate: this effect runs without a transaction")
	}
	if !a.Plugin.Compensates {
		return failure(abi.StatusUnsupported, "tx.compensate: the plugin does not export %s", abi.ExportCompensate)
	}
	payload, _ := json.Marshal(r.Payload) // a []byte: cannot fail
	err := a.Tx.Record(tx.Operation{Kind: tx.KindGuest, Service: GuestService(a.Plugin.Digest), Target: r.Name,
		Compensation: &tx.Compensation{Payload: payload}})
	if err != nil {
		return txFailure("tx.compensate", err)
	}
	return response(abi.Empty{})
}

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
