package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/server"
)

// EffectRecordsConfig configures EffectRecords. The zero value takes every default.
type EffectRecordsConfig struct {
	// HostID names this host in the records; default a unique id.
	HostID string
	// Lease is how long another host waits for an effect that started here before it
	// may run the same operation id itself — the longest an effect can run (its timeout,
	// host.DefaultEffectTimeout unless the node sets more) plus a margin. Default
	// 2 × host.DefaultEffectTimeout.
	Lease time.Duration
	// Retention is how long a committed effect's result answers a repeated request;
	// default 24 h.
	Retention time.Duration
	// Replicas of the bucket in a JetStream cluster; default 1 (3 on a 3-node cluster).
	Replicas int
	// Logger receives failures to record; default slog.Default().
	Logger *slog.Logger
}

// EffectRecords runs each effect at most once per node and operation id, whichever host
// and whichever entry point (NATS or HTTP) a request comes through, with the records in
// the JetStream key-value bucket "onex_effects". While a first run is in progress (on any
// host) a repeat waits for it; a committed first run's output answers the repeat. The
// record is written by the effect's commit guard (host.WithCommitGuard), before its
// transaction commits: if it cannot be written, the effect rolls back. A run that did not
// commit leaves no record, so the same id may run again. A request without an
// operation_id is run as is. EffectRecords is safe for concurrent use.
type EffectRecords struct {
	kv      jetstream.KeyValue
	host    string
	lease   time.Duration
	log     *slog.Logger
	inDoubt atomic.Uint64
}

// NewEffectRecords creates or opens the bucket on nc's JetStream (ctx bounds waiting for
// JetStream to be ready).
func NewEffectRecords(ctx context.Context, nc *nats.Conn, cfg EffectRecordsConfig) (*EffectRecords, error) {
	if cfg.HostID == "" {
		cfg.HostID = nuid.Next()
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * host.DefaultEffectTimeout
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	kv, err := keyValue(ctx, nc, jetstream.KeyValueConfig{
		Bucket: "onex_effects", Description: "onex-host: effect records by operation id",
		TTL: cfg.Retention, Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, err
	}
	return &EffectRecords{kv: kv, host: cfg.HostID, lease: cfg.Lease, log: cfg.Logger.With("component", "effect-records")}, nil
}

// effectRecord is the value stored per operation id.
type effectRecord struct {
	// State is "running" (a host holds the lease), "committed" (written by the commit
	// guard, before the commit) or "done" (the full reply).
	State  string          `json:"state"`
	Host   string          `json:"host"`
	Status int             `json:"status,omitempty"`
	Body   json.RawMessage `json:"body,omitempty"`
}

// pollEvery is how often a repeated request looks at a record in progress.
const pollEvery = 50 * time.Millisecond

// Run runs the effect request body for node at most once per operation id: exec, or the
// answer recorded for an earlier run (dedup true). It implements server.EffectRecorder.
func (r *EffectRecords) Run(ctx context.Context, node string, body []byte, exec func(context.Context) server.Response) (resp server.Response, dedup bool) {
	var in struct {
		OperationID string `json:"operation_id"`
	}
	if json.Unmarshal(body, &in) != nil || in.OperationID == "" {
		return exec(ctx), false
	}
	key := node + "." + recordKey(in.OperationID)
	running, _ := json.Marshal(effectRecord{State: "running", Host: r.host})
	for {
		rev, err := r.kv.Create(ctx, key, running, jetstream.KeyTTL(r.lease))
		if err == nil {
			return r.execute(ctx, key, rev, exec), false
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return unavailable(fmt.Sprintf("operation %s: the effect records are unavailable, so the effect was not run: %v", in.OperationID, err)), false
		}
		entry, err := r.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			continue // finished without committing, or its lease expired: run it here
		case err != nil:
			return unavailable(fmt.Sprintf("operation %s: reading its effect record: %v", in.OperationID, err)), false
		}
		var rec effectRecord
		if json.Unmarshal(entry.Value(), &rec) != nil {
			return unavailable(fmt.Sprintf("operation %s: its effect record is damaged", in.OperationID)), false
		}
		if rec.State != "running" {
			return server.Response{Status: rec.Status, Body: rec.Body}, true
		}
		select {
		case <-ctx.Done():
			return unavailable(fmt.Sprintf("operation %s is still running on host %s", in.OperationID, rec.Host)), false
		case <-time.After(pollEvery):
		}
	}
}

// execute runs the effect holding the lease at revision rev.
func (r *EffectRecords) execute(ctx context.Context, key string, rev uint64, exec func(context.Context) server.Response) server.Response {
	committed := false
	guarded := host.WithCommitGuard(ctx, func(ctx context.Context, out abi.EffectOutput) error {
		body, err := json.Marshal(out)
		if err != nil {
			return err
		}
		rec, _ := json.Marshal(effectRecord{State: "committed", Host: r.host, Status: http.StatusOK, Body: body})
		next, err := r.kv.Update(ctx, key, rec, rev)
		if err != nil {
			next, err = r.settle(key, rev, rec, err)
		}
		if err != nil {
			return fmt.Errorf("recording the effect before its commit: %w", err)
		}
		rev, committed = next, true
		return nil
	})
	resp := exec(guarded)
	// Records are written on a context of their own: the caller may have given up, the
	// outcome still has to be recorded.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if resp.Status == http.StatusOK && committed {
		rec, _ := json.Marshal(effectRecord{State: "done", Host: r.host, Status: resp.Status, Body: resp.Body})
		if _, err := r.kv.Update(wctx, key, rec, rev); err != nil {
			// The "committed" record still answers repeats, without the reply's details.
			r.log.Warn("effect committed; its full reply was not recorded", "key", key, "error", err)
		}
		return resp
	}
	if committed && resp.Status != http.StatusOK {
		// The guard recorded a commit that did not happen (the host's shutdown rolled the
		// transaction back after it): remove the record so that a repeat runs again.
		r.log.Info("effect recorded as committing but did not commit; record removed", "key", key)
	}
	if err := r.kv.Delete(wctx, key, jetstream.LastRevision(rev)); err != nil {
		r.log.Warn("effect did not commit; its lease stays until it expires", "key", key, "error", err)
	}
	return resp
}

// settle finds out what became of a guard's write that failed with err: a server's
// answer (a revision conflict) is definite, but a lost connection or a timeout may hide a
// write that landed. It reads the record back, on a fresh context, for up to a second:
// the record the guard wrote means the write landed (the effect may commit); the lease it
// held means it did not. When the record cannot be read the outcome stays in doubt: the
// effect rolls back, the record may still say committed, and InDoubt counts it (with an
// error log naming the key) for an operator to reconcile from this host's journal.
func (r *EffectRecords) settle(key string, rev uint64, written []byte, err error) (uint64, error) {
	if _, ok := errors.AsType[*jetstream.APIError](err); ok || errors.Is(err, jetstream.ErrKeyExists) {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for {
		entry, gerr := r.kv.Get(ctx, key)
		switch {
		case gerr == nil && entry.Revision() > rev && bytes.Equal(entry.Value(), written):
			return entry.Revision(), nil
		case gerr == nil:
			return 0, err // the lease's revision, or another host's: not written
		case errors.Is(gerr, jetstream.ErrKeyNotFound):
			return 0, err
		}
		select {
		case <-ctx.Done():
			r.inDoubt.Add(1)
			r.log.Error("effect in doubt: its record may say committed although it rolls back here; reconcile from this host's journal",
				"key", key, "error", err)
			return 0, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// InDoubt counts effects rolled back after a guard write whose outcome could not be
// learnt (see settle): each may be answered as committed to a repeat.
func (r *EffectRecords) InDoubt() uint64 { return r.inDoubt.Load() }

// recordKey is the key-value key of an operation id (any string): its SHA-256, 40 hex
// digits.
func recordKey(opID string) string {
	sum := sha256.Sum256([]byte(opID))
	return hex.EncodeToString(sum[:20])
}

// unavailable is a 503 reply with the server's error shape, retryable.
func unavailable(msg string) server.Response {
	body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": "unavailable", "message": msg, "retryable": true}})
	return server.Response{Status: http.StatusServiceUnavailable, Body: body}
}
