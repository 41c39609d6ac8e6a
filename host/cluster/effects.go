package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/effect"
	"github.com/onexhost/onex-host/host/server"
)

// EffectRecordsConfig configures EffectRecords. The zero value takes every default.
type EffectRecordsConfig struct {
	// HostID names this host in the records; default a unique id. Keep it stable across
	// restarts (nats.host_id) so that Reconcile recognises the records of this host's
	// effects that changed nothing durable.
	HostID string
	// Lease is how long the record of an effect in progress outlives its host's last
	// renewal: the host renews it every Lease/3 while the effect runs, however long that
	// is, and when the host dies another host may run the same operation id after at
	// most Lease. A record found committing and not renewed for Lease is answered as in
	// doubt. Default 2 × effect.DefaultTimeout.
	Lease time.Duration
	// Retention is how long a committed effect's result answers a repeated request;
	// default 24 h.
	Retention time.Duration
	// Wait is how long a request waits for the bucket while it does not answer (a
	// JetStream stream-leader election takes seconds), within the request's own deadline,
	// before answering 503; default 15 s.
	Wait time.Duration
	// Replicas of the bucket in a JetStream cluster; default 1 (3 on a 3-node cluster).
	Replicas int
	// Logger receives failures to record; default slog.Default().
	Logger *slog.Logger
}

// EffectRecords runs each effect at most once per node and operation id, whichever host
// and whichever entry point (NATS or HTTP) a request comes through, with the records in
// the JetStream key-value bucket "onex_effects". A request without an operation_id is
// run as is.
//
// An operation id's record goes through running → committing → done, in this order
// against the host's journal (RATIONALE.md, "The effect commit order across stores"):
//
//  1. running: created before the effect runs, with a per-key TTL of Lease that this
//     host renews every Lease/3 while the effect runs;
//  2. the effect's capability calls are journaled and applied;
//  3. committing: written by the effect's commit guard (effect.WithCommitGuard), with the
//     transaction id and the output, before the journal's commit point; if it cannot be
//     written, the effect rolls back;
//  4. the journal's commit point (the effect is committed);
//  5. done: the full reply, final, kept for Retention; a rolled-back effect's record is
//     deleted instead, so that the same id may run again;
//  6. the effect's events (published by the host after its commit point).
//
// A repeat is answered only from a done record. While a record is running or
// committing, a repeat waits for it until the request's deadline and then answers 503
// (retryable); a committing record whose host stopped renewing it is in doubt and is
// answered 503 at once, never 200: only that host's journal knows whether it committed,
// and its Reconcile settles the record when it restarts. A running record whose host
// died expires after Lease (its journal rolls the effect back), and the id may run
// again.
//
// EffectRecords is safe for concurrent use. Close it after the service and the server
// that use it have stopped.
type EffectRecords struct {
	kv     jetstream.KeyValue
	js     jetstream.JetStream
	host   string
	lease  time.Duration
	wait   time.Duration
	log    *slog.Logger
	closed chan struct{}

	// live holds the run tokens of the effects running here, which Reconcile leaves alone.
	live sync.Map
	// settling counts the goroutines finishing records in the background (Close waits).
	settling sync.WaitGroup
	inDoubt  atomic.Uint64
	once     sync.Once
}

// NewEffectRecords creates or opens the bucket on nc's JetStream (ctx bounds waiting for
// JetStream to be ready).
func NewEffectRecords(ctx context.Context, nc *nats.Conn, cfg EffectRecordsConfig) (*EffectRecords, error) {
	if cfg.HostID == "" {
		cfg.HostID = nuid.Next()
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * effect.DefaultTimeout
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	kv, err := keyValue(ctx, nc, jetstream.KeyValueConfig{
		Bucket: effectsBucket, Description: "onex-host: effect records by operation id",
		TTL: cfg.Retention, Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: JetStream: %w", err)
	}
	return &EffectRecords{kv: kv, js: js, host: cfg.HostID, lease: cfg.Lease, wait: cfg.Wait,
		log: cfg.Logger.With("component", "effect-records"), closed: make(chan struct{})}, nil
}

// effectsBucket is the key-value bucket of the records.
const effectsBucket = "onex_effects"

// The states of a record.
const (
	stateRunning    = "running"
	stateCommitting = "committing"
	stateDone       = "done"
)

// effectRecord is the value stored per operation id.
type effectRecord struct {
	// State is stateRunning, stateCommitting or stateDone (older hosts wrote
	// "committed", which is read as committing).
	State string `json:"state"`
	Host  string `json:"host"`
	// Run identifies one execution, so that a host recognises its own writes whose
	// answers were lost.
	Run string `json:"run,omitempty"`
	// TxID is the journal's transaction of a committing record.
	TxID   string          `json:"tx_id,omitempty"`
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
	run := nuid.Next()
	running, _ := json.Marshal(effectRecord{State: stateRunning, Host: r.host, Run: run})
	var w unavailability
	for {
		rev, err := r.kv.Create(ctx, key, running, jetstream.KeyTTL(r.lease))
		if err == nil {
			return r.execute(ctx, key, run, rev, running, exec), false
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			if w.wait(ctx, r.wait) {
				continue
			}
			return unavailable(fmt.Sprintf("operation %s: the effect records are unavailable, so the effect was not run: %v", in.OperationID, err)), false
		}
		entry, err := r.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			continue // finished without committing, or its lease expired: run it here
		case err != nil:
			if w.wait(ctx, r.wait) {
				continue
			}
			return unavailable(fmt.Sprintf("operation %s: reading its effect record: %v", in.OperationID, err)), false
		}
		var rec effectRecord
		if json.Unmarshal(entry.Value(), &rec) != nil {
			return unavailable(fmt.Sprintf("operation %s: its effect record is damaged", in.OperationID)), false
		}
		switch {
		case rec.Run == run && rec.State == stateRunning:
			// Our own create landed, though its answer was lost.
			return r.execute(ctx, key, run, entry.Revision(), running, exec), false
		case rec.State == stateDone:
			return server.Response{Status: rec.Status, Body: rec.Body}, true
		case rec.State != stateRunning && time.Since(entry.Created()) > r.lease:
			return unavailable(fmt.Sprintf("operation %s is in doubt: host %s recorded its commit and stopped "+
				"renewing the record before finishing it; it is settled when that host's journal is reconciled",
				in.OperationID, rec.Host)), false
		}
		// The answer leaves before the deadline, so that it reaches the caller.
		if d, ok := ctx.Deadline(); ok && time.Until(d) < 2*pollEvery {
			return unavailable(fmt.Sprintf("operation %s is still %s on host %s", in.OperationID, rec.State, rec.Host)), false
		}
		select {
		case <-ctx.Done():
			return unavailable(fmt.Sprintf("operation %s is still %s on host %s", in.OperationID, rec.State, rec.Host)), false
		case <-time.After(pollEvery):
		}
	}
}

// unavailability paces the retries of a request while the bucket does not answer.
type unavailability struct {
	until time.Time
	pause time.Duration
}

// wait sleeps before the next try and reports true, or reports false when the wait
// (limit from the first failure, and ctx) is over.
func (u *unavailability) wait(ctx context.Context, limit time.Duration) bool {
	if u.until.IsZero() {
		u.until, u.pause = time.Now().Add(limit), 100*time.Millisecond
	}
	if d, ok := ctx.Deadline(); ok && d.Before(u.until) {
		u.until = d
	}
	pause := min(u.pause, time.Until(u.until))
	if pause <= 0 {
		return false
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(pause):
	}
	u.pause = min(2*u.pause, time.Second)
	return true
}

// execute runs the effect holding the running record of run at revision rev.
func (r *EffectRecords) execute(ctx context.Context, key, run string, rev uint64, running []byte, exec func(context.Context) server.Response) server.Response {
	r.live.Store(run, struct{}{})
	defer r.live.Delete(run)
	ectx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	l := r.hold(key, run, rev, running, cancel)
	guarded := effect.WithCommitGuard(ectx, func(ctx context.Context, out abi.EffectOutput) error {
		body, err := json.Marshal(out)
		if err != nil {
			return err
		}
		rec, _ := json.Marshal(effectRecord{State: stateCommitting, Host: r.host, Run: run, TxID: out.TransactionID,
			Status: http.StatusOK, Body: body})
		if err := l.commit(ctx, rec); err != nil {
			return fmt.Errorf("recording the effect before its commit: %w", err)
		}
		return nil
	})
	resp := exec(guarded)
	rev, committing := l.stop()
	if resp.Status == http.StatusOK && committing {
		done, _ := json.Marshal(effectRecord{State: stateDone, Host: r.host, Run: run, Status: resp.Status, Body: resp.Body})
		r.finish(ctx, key, run, rev, done)
		return resp
	}
	if committing {
		// The guard recorded a commit that did not happen (the guard's write failed in
		// doubt, or the host's shutdown rolled the transaction back after it): remove the
		// record so that a repeat runs again.
		r.log.InfoContext(ctx, "effect recorded as committing but did not commit; record removed", "key", key)
	}
	r.finish(ctx, key, run, rev, nil)
	return resp
}

// finish writes the final state of run's record (done, or nil: deleted). It tries once
// here, bounded, and otherwise keeps trying in the background until it succeeds or Close:
// until then a repeat sees the record still committing (503, never a false 200). ctx is
// the request's, for its log records' trace ids only: the write outlives the request.
func (r *EffectRecords) finish(ctx context.Context, key, run string, rev uint64, final []byte) {
	logCtx := context.WithoutCancel(ctx)
	// The caller may have given up; the outcome still has to be recorded.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err := r.put(ctx, key, run, rev, final, 0)
	cancel()
	if err == nil || errors.Is(err, errLost) {
		return
	}
	select {
	case <-r.closed:
		r.log.WarnContext(logCtx, "effect record not finished; Reconcile settles it", "key", key, "error", err)
		return
	default:
	}
	r.settling.Go(func() {
		pause := 250 * time.Millisecond
		for {
			select {
			case <-r.closed:
				r.log.WarnContext(logCtx, "effect record not finished; Reconcile settles it", "key", key)
				return
			case <-time.After(pause):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := r.put(ctx, key, run, 0, final, 0)
			cancel()
			if err == nil || errors.Is(err, errLost) {
				return
			}
			pause = min(2*pause, 5*time.Second)
		}
	})
}

// errLost is returned by put when the record is no longer the run's.
var errLost = errors.New("cluster: the effect record is no longer this run's")

// put writes value over the record of run at key (nil: deletes it), with a per-key TTL
// when ttl > 0: at revision rev first, then, if that fails, at the revision the run's
// record has now. A failed write may have landed (a lost answer, a leader change), and
// the run's earlier writes may have too, so the record is read back: still the run's, it
// is written on top; no longer the run's (another host's, or gone), put returns errLost;
// unreadable, the write's error. It returns the new revision.
func (r *EffectRecords) put(ctx context.Context, key, run string, rev uint64, value []byte, ttl time.Duration) (uint64, error) {
	for {
		next, err := r.write(ctx, key, rev, value, ttl)
		if err == nil {
			return next, nil
		}
		entry, gerr := r.kv.Get(ctx, key)
		switch {
		case errors.Is(gerr, jetstream.ErrKeyNotFound):
			if value == nil {
				return 0, nil
			}
			return 0, errLost
		case gerr != nil:
			return 0, err
		}
		var cur effectRecord
		if json.Unmarshal(entry.Value(), &cur) != nil || cur.Run != run {
			return 0, errLost
		}
		if entry.Revision() == rev {
			return 0, err // it did not land, and the record is unchanged
		}
		if value != nil && string(entry.Value()) == string(value) {
			return entry.Revision(), nil // it landed
		}
		rev = entry.Revision() // a write of the run's landed unseen: write on top of it
	}
}

// write writes value at key if its last revision is rev (value nil: deletes it).
func (r *EffectRecords) write(ctx context.Context, key string, rev uint64, value []byte, ttl time.Duration) (uint64, error) {
	switch {
	case rev == 0:
		return 0, errors.New("cluster: no known revision")
	case value == nil:
		return 0, r.kv.Delete(ctx, key, jetstream.LastRevision(rev))
	case ttl <= 0:
		return r.kv.Update(ctx, key, value, rev)
	}
	// KeyValue.Update takes no TTL: publish as it does, with one.
	msg := &nats.Msg{Subject: "$KV." + effectsBucket + "." + key, Header: nats.Header{}, Data: value}
	ack, err := r.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(rev), jetstream.WithMsgTTL(ttl))
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// InDoubt counts effects whose commit record could not be written nor read back: each
// rolled back here, and a repeat is answered 503 until its record is settled (by this
// host's background retry or by Reconcile).
func (r *EffectRecords) InDoubt() uint64 { return r.inDoubt.Load() }

// Close stops the background retries of records not yet finished (Reconcile settles
// them at the next start) and waits for them. Call it after the requests have stopped.
func (r *EffectRecords) Close() {
	r.once.Do(func() { close(r.closed) })
	r.settling.Wait()
}

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
