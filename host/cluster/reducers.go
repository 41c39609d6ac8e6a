package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/reducer"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/host/tracing"
)

// Subjects of the reducer protocol.
const (
	// SubjectReduce is where any host takes an event for any key (queue group
	// QueueReduce): the host that receives it routes it to the key's owner. Client.Reduce
	// sends here.
	SubjectReduce = "onex.reducer.submit"
	// QueueReduce is the queue group of SubjectReduce.
	QueueReduce = "onex-reducers"
	// subjectReduceHost + host id is where the owner of a partition takes its events.
	subjectReduceHost = "onex.reducer.host."
)

// ErrNotOwner is answered by a host asked to apply an event of a partition it does not
// own (any more); Apply routes the event again.
var ErrNotOwner = errors.New("cluster: this host does not own the key's partition")

// ErrNoReducer is returned for an event to a reducer node this host does not run. It
// matches reducer.ErrNotFound too (the HTTP API answers 404).
var ErrNoReducer = fmt.Errorf("cluster: no such reducer node (%w)", reducer.ErrNotFound)

// ReducersConfig configures Reducers. The zero value takes every default.
type ReducersConfig struct {
	// Partitions is the number of key partitions, each owned by one host at a time; it
	// must be the same on every host. Default 64.
	Partitions int
	// Lease is how long a partition's owner stays its owner after its last renewal (it
	// renews every Lease/3): a dead host's partitions are taken over after at most Lease.
	// Default 1.5 s.
	Lease time.Duration
	// DedupeWindow is how many of each key's most recent event ids are remembered;
	// default reducer.DefaultDedupeWindow.
	DedupeWindow int
	// Replicas of the buckets in a JetStream cluster; default 1.
	Replicas int
	// Logger; default slog.Default().
	Logger *slog.Logger
	// OnApplied, when set, is called on the key's owner after each event it applied
	// (not for a duplicate), once the record is durable, whichever host received the
	// event: serve publishes the state change on the owner's event bus with it. It must
	// not block for long (it runs before the event is answered).
	OnApplied func(ctx context.Context, node, key, eventID string, res reducer.Result)
	// Carry, when set, carries out the pending intents of the keys this host owns
	// (ReducersConfig.Carry; see dispatch): default nil, intents stay pending until
	// Done.
	Carry reducer.Carry
}

// Reducers applies events to reducer keys across a cluster (RATIONALE.md, "Reducers
// across a cluster"). Each (node, key) has one record in the JetStream key-value bucket
// "onex_reducers" holding its state, sequence, the dedupe window of event ids and the
// pending intents; every write is a compare-and-set on the record's revision, so a
// record is never overwritten by a host that read an older one. Keys are hashed into
// Partitions partitions; each partition is owned by one host at a time through a lease
// in "onex_reducer_owners", and every event for a key is routed to the owner of its
// partition, which applies the events of one key one at a time in arrival order. When
// the owner dies its lease expires and the next event for one of its keys makes another
// host the owner; it continues from the record.
//
// An event is answered only once its record is written (JetStream acknowledged it):
// an acknowledged event is durable. An Apply that fails for a reason other than the
// fold may or may not have been applied: deliver it again with the same event id.
//
// Safe for concurrent use. Close releases this host's partitions.
type Reducers struct {
	nc    *nats.Conn
	js    jetstream.JetStream
	state jetstream.KeyValue
	owner jetstream.KeyValue
	host  string
	nodes map[string]reducer.Fold
	cfg   ReducersConfig
	log   *slog.Logger
	subs  []*nats.Subscription

	keys reducer.KeyLocks // one event at a time per (node, key) on this host

	parts *partitions // the partition leases ("onex_reducer_owners")

	// mu guards cache and pending.
	mu sync.Mutex
	// cache holds the records this host last wrote or read, with their revisions, so
	// that the owner of a key reads it from JetStream only once. A stale entry is safe:
	// the write's revision check fails and the record is read again.
	cache map[string]cachedRecord
	// pending is the number of pending intents in each key's record as this host last
	// read or wrote it (keys with none are absent): PendingIntents.
	pending map[nodeKey]int

	failed jetstream.KeyValue // failed intents (reducerintents.go)
	dead   jetstream.KeyValue // dead letters (reducerdead.go)
	// dmu guards dirty and sweepWanted: what the dispatcher looks at next.
	dmu         sync.Mutex
	dirty       map[nodeKey]struct{}
	sweepWanted bool
	kickc       chan struct{} // wakes the dispatcher
	dispatched  chan struct{} // closed when the dispatcher returned

	slots chan struct{}
	stopc chan struct{}

	work    sync.WaitGroup
	closing sync.Once
}

type cachedRecord struct {
	rec keyRecord
	rev uint64
}

// maxCachedRecords bounds Reducers.cache.
const maxCachedRecords = 4096

// NewReducers opens the buckets on nc's JetStream, serves the reducer subjects for this
// host (hostID, default a unique id) and starts renewing its leases. nodes are the
// reducer nodes this host runs, by name; every host should run the same ones.
func NewReducers(ctx context.Context, nc *nats.Conn, hostID string, nodes map[string]reducer.Fold, cfg ReducersConfig) (*Reducers, error) {
	if hostID == "" {
		hostID = nuid.Next()
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = 64
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 1500 * time.Millisecond
	}
	if cfg.DedupeWindow <= 0 {
		cfg.DedupeWindow = reducer.DefaultDedupeWindow
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	for name, f := range nodes {
		if !abi.ValidName(name) || f == nil {
			return nil, fmt.Errorf("cluster: reducer node %q: a valid name and a fold are required", name)
		}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: JetStream: %w", err)
	}
	kvs, err := keyValues(ctx, nc, cfg.Replicas,
		[2]string{reducerStateBucket, "onex-host: reducer state per (node, key)"},
		[2]string{reducerOwnersBucket, "onex-host: reducer partition leases"},
		[2]string{reducerFailedBucket, "onex-host: reducer intents that failed for good"},
		[2]string{reducerDeadBucket, "onex-host: reducer events whose fold failed (dead letters)"})
	if err != nil {
		return nil, err
	}
	state, owner, failed, dead := kvs[0], kvs[1], kvs[2], kvs[3]
	r := &Reducers{failed: failed, dead: dead, dirty: map[nodeKey]struct{}{}, kickc: make(chan struct{}, 1), dispatched: make(chan struct{}),
		nc: nc, js: js, state: state, owner: owner, host: hostID, nodes: nodes, cfg: cfg, log: cfg.Logger,
		cache: map[string]cachedRecord{}, pending: map[nodeKey]int{},
		slots: make(chan struct{}, reducer.DefaultMaxParallel()),
		stopc: make(chan struct{}),
	}
	for _, s := range []struct{ subject, queue string }{{subjectReduceHost + hostID, ""}, {SubjectReduce, QueueReduce}} {
		var sub *nats.Subscription
		if s.queue == "" {
			sub, err = nc.Subscribe(s.subject, r.serve)
		} else {
			sub, err = nc.QueueSubscribe(s.subject, s.queue, r.serve)
		}
		if err != nil {
			r.unsubscribe()
			return nil, fmt.Errorf("cluster: reducers: subscribe %s: %w", s.subject, err)
		}
		r.subs = append(r.subs, sub)
	}
	if err := nc.FlushWithContext(ctx); err != nil {
		r.unsubscribe()
		return nil, fmt.Errorf("cluster: reducers: %w", err)
	}
	r.parts = newPartitions(js, owner, reducerOwnersBucket, hostID, cfg.Lease, cfg.Logger, "reducer partition")
	r.parts.taken = func(int) { r.requestSweep() } // the last owner may have left intents pending
	go r.parts.renew()
	if cfg.Carry != nil {
		go r.dispatch()
	} else {
		close(r.dispatched)
	}
	return r, nil
}

// HostID returns this host's id.
func (r *Reducers) HostID() string { return r.host }

// Partition returns the partition of (node, key).
func (r *Reducers) Partition(node, key string) int {
	h := fnv.New64a()
	h.Write([]byte(node))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return int(h.Sum64() % uint64(r.cfg.Partitions))
}

// Owner returns the host owning (node, key)'s partition, or "" when none does.
func (r *Reducers) Owner(ctx context.Context, node, key string) (string, error) {
	e, err := r.owner.Get(ctx, leaseKey(r.Partition(node, key)))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return "", nil
	case err != nil:
		return "", err
	}
	return string(e.Value()), nil
}

// State returns (node, key)'s sequence and state as last written (sequence 0 and a nil
// state for a key without events).
func (r *Reducers) State(ctx context.Context, node, key string) (uint64, json.RawMessage, error) {
	rec, _, err := loadRecord(ctx, r.state, node, key)
	return rec.Sequence, rec.State, err
}

// Pending returns (node, key)'s intents not yet reported done, in order.
func (r *Reducers) Pending(ctx context.Context, node, key string) ([]reducer.OutboxEntry, error) {
	rec, _, err := loadRecord(ctx, r.state, node, key)
	return rec.Pending, err
}

// Done removes the pending intent opID of (node, key): it has been carried out. An
// unknown id is not an error.
func (r *Reducers) Done(ctx context.Context, node, key, opID string) error {
	for {
		rec, rev, err := loadRecord(ctx, r.state, node, key)
		if err != nil || rev == 0 {
			return err
		}
		kept := rec.Pending[:0:0]
		for _, e := range rec.Pending {
			if e.OperationID != opID {
				kept = append(kept, e)
			}
		}
		if len(kept) == len(rec.Pending) {
			return nil
		}
		rec.Pending = kept
		nrev, err := storeRecord(ctx, r.state, node, key, rev, rec)
		r.remember(node, key, rec, nrev, err == nil)
		if !errors.Is(err, errStale) {
			return err
		}
	}
}

// Apply applies ev to key of reducer node, from any host: the event goes to the owner
// of the key's partition (this host if it owns it or takes it over), which folds it
// and writes the new record before answering. An event id within the key's dedupe
// window is not applied again: the answer carries its recorded sequence, the key's
// current state and Duplicate. Apply retries, with the same event id, while no host
// answers for the partition (an owner died: its lease must expire first), until ctx
// ends.
//
// Errors: reducer.ErrInvalidEvent, ErrNoReducer, a *reducer.FoldError (state
// unchanged), ctx's error, or a storage error (the event may or may not have been
// applied: deliver it again with the same id).
func (r *Reducers) Apply(ctx context.Context, node, key string, ev abi.ReduceEvent) (reducer.Result, error) {
	if key == "" || ev.EventID == "" || ev.Type == "" {
		return reducer.Result{}, fmt.Errorf("%w: key, event_id and type are required", reducer.ErrInvalidEvent)
	}
	p := r.Partition(node, key)
	reduction := server.ReductionOf(ctx)
	backoff := 10 * time.Millisecond
	for {
		owner, err := r.ownerOf(ctx, p)
		if err == nil {
			var res reducer.Result
			if owner == r.host {
				res, err = r.applyHere(ctx, p, node, key, ev)
			} else {
				res, err = r.forward(ctx, owner, node, reduction, key, ev)
			}
			if !retryable(err) {
				return res, err
			}
			r.forget(p, owner)
		}
		if ctx.Err() != nil {
			return reducer.Result{}, fmt.Errorf("cluster: reducer %s key %q: %w (last error: %v)", node, key, ctx.Err(), err)
		}
		if errors.Is(err, nats.ErrConnectionClosed) {
			return reducer.Result{}, fmt.Errorf("cluster: reducer %s key %q: %w", node, key, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, r.cfg.Lease/10)
	}
}

// retryable reports whether an Apply attempt should be routed again.
func retryable(err error) bool {
	return errors.Is(err, ErrNotOwner) || errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, errLeaseBusy)
}

// errLeaseBusy: the partition's lease is held by a host that did not answer yet.
var errLeaseBusy = errors.New("cluster: partition lease held elsewhere")

// ownerOf returns the owner of partition p, taking it over when nobody holds it.
func (r *Reducers) ownerOf(ctx context.Context, p int) (string, error) {
	return r.parts.ownerOf(ctx, p)
}

// forget drops what is known of partition p's owner after an attempt through it failed.
func (r *Reducers) forget(p int, owner string) { r.parts.forget(p, owner) }

// applyHere applies ev on this host, which owns partition p.
func (r *Reducers) applyHere(ctx context.Context, p int, node, key string, ev abi.ReduceEvent) (reducer.Result, error) {
	fold := r.nodes[node]
	if fold == nil {
		return reducer.Result{}, fmt.Errorf("%w: %q", ErrNoReducer, node)
	}
	unlock, err := r.keys.Lock(ctx, stateKey(node, key))
	if err != nil {
		return reducer.Result{}, err
	}
	defer unlock()
	for {
		if !r.parts.owns(p) {
			return reducer.Result{}, ErrNotOwner
		}
		rec, rev, err := r.record(ctx, node, key)
		if err != nil {
			return reducer.Result{}, err
		}
		if seq := rec.seen(ev.EventID); seq != 0 {
			return reducer.Result{Sequence: seq, State: rec.State, Duplicate: true}, nil
		}
		in := abi.ReduceInput{Key: key, Sequence: rec.Sequence + 1, State: rec.State, Event: ev}
		if in.State == nil {
			in.State = json.RawMessage("null")
		}
		out, err := r.runFold(ctx, fold, in)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return reducer.Result{}, err
			}
			ferr := &reducer.FoldError{Node: node, Key: key, EventID: ev.EventID, Err: err}
			switch derr := r.putDeadLetter(ctx, rec, rev, node, key, ev, err); {
			case errors.Is(derr, errStale):
				continue // read again: the event may have been applied meanwhile
			case derr != nil:
				return reducer.Result{}, fmt.Errorf("%w (and %v)", ferr, derr)
			}
			return reducer.Result{}, ferr
		}
		next, entries := rec.next(node, key, ev, out, r.cfg.DedupeWindow)
		nrev, err := storeRecord(ctx, r.state, node, key, rev, next)
		r.remember(node, key, next, nrev, err == nil)
		if err != nil {
			if errors.Is(err, errStale) {
				continue // another host wrote the key (it owned the partition meanwhile): read again
			}
			return reducer.Result{}, fmt.Errorf("cluster: reducer %s key %q: write: %w", node, key, err)
		}
		if len(next.Dead) < len(rec.Dead) { // it was a dead letter: no more
			r.dropDeadLetter(ctx, node, key, ev.EventID)
		}
		res := reducer.Result{Sequence: next.Sequence, State: next.State, Intents: entries, Projection: out.Projection}
		if len(next.Pending) > 0 {
			r.kick(node, key)
		}
		if r.cfg.OnApplied != nil {
			r.cfg.OnApplied(ctx, node, key, ev.EventID, res)
		}
		return res, nil
	}
}

// record returns (node, key)'s record from the cache or JetStream.
func (r *Reducers) record(ctx context.Context, node, key string) (keyRecord, uint64, error) {
	k := stateKey(node, key)
	r.mu.Lock()
	c, ok := r.cache[k]
	r.mu.Unlock()
	if ok {
		return c.rec, c.rev, nil
	}
	rec, rev, err := loadRecord(ctx, r.state, node, key)
	if err == nil {
		r.remember(node, key, rec, rev, true)
	}
	return rec, rev, err
}

// remember caches rec at rev (ok) or drops the key's entry (!ok).
func (r *Reducers) remember(node, key string, rec keyRecord, rev uint64, ok bool) {
	k := stateKey(node, key)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !ok {
		delete(r.cache, k)
		return
	}
	r.countPending(node, key, rec)
	if _, there := r.cache[k]; !there && len(r.cache) >= maxCachedRecords {
		for old := range r.cache { // evict one at random
			delete(r.cache, old)
			break
		}
	}
	r.cache[k] = cachedRecord{rec: rec, rev: rev}
}

// runFold runs fold in a slot, checked as host/reducer checks it (reducer.Fold.Checked).
func (r *Reducers) runFold(ctx context.Context, fold reducer.Fold, in abi.ReduceInput) (abi.ReduceOutput, error) {
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return abi.ReduceOutput{}, ctx.Err()
	}
	defer func() { <-r.slots }()
	return fold.Checked(ctx, in)
}

// reduceRequest is the body of a reducer request; reduceReply its answer.
type reduceRequest struct {
	Node string `json:"node"`
	// Reduction is the reduction the sender named (server.WithReduction); "" the first.
	Reduction string          `json:"reduction,omitempty"`
	Key       string          `json:"key"`
	Event     abi.ReduceEvent `json:"event"`
	// Owner is set on a request to a partition's owner (not on one to SubjectReduce).
	Owner bool `json:"owner,omitempty"`
}

// ReduceReply is the answer to an event sent through the cluster: the event's sequence
// and the key's state, or an error.
type ReduceReply struct {
	Sequence  uint64                `json:"sequence,omitempty"`
	State     json.RawMessage       `json:"state,omitempty"`
	Intents   []reducer.OutboxEntry `json:"intents,omitempty"`
	Duplicate bool                  `json:"duplicate,omitempty"`
	// Projection is the fold's projection of the event (not stored: none for a duplicate).
	Projection json.RawMessage `json:"projection,omitempty"`
	Error      *ReduceError    `json:"error,omitempty"`
}

// ReduceError is a failed reducer request: Code is "invalid_event", "no_reducer",
// "fold_failed", "not_owner" or "unavailable".
type ReduceError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// forward sends ev to owner and waits for its answer.
func (r *Reducers) forward(ctx context.Context, owner, node, reduction, key string, ev abi.ReduceEvent) (reducer.Result, error) {
	body, err := json.Marshal(reduceRequest{Node: node, Reduction: reduction, Key: key, Event: ev, Owner: true})
	if err != nil {
		return reducer.Result{}, err
	}
	// The owner may die with the request: wait for it at most a lease, then route again.
	wctx, cancel := context.WithTimeout(ctx, r.cfg.Lease)
	defer cancel()
	msg, err := r.nc.RequestMsgWithContext(wctx, tracedMsg(ctx, subjectReduceHost+owner, body))
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return reducer.Result{}, nats.ErrTimeout
		}
		return reducer.Result{}, err
	}
	return decodeReply(msg.Data, node, key, ev.EventID)
}

// decodeReply turns a ReduceReply into Apply's answer.
func decodeReply(data []byte, node, key, eventID string) (reducer.Result, error) {
	var rep ReduceReply
	if err := json.Unmarshal(data, &rep); err != nil {
		return reducer.Result{}, fmt.Errorf("cluster: reducer reply: %w", err)
	}
	if e := rep.Error; e != nil {
		switch e.Code {
		case "not_owner":
			return reducer.Result{}, ErrNotOwner
		case "invalid_event":
			return reducer.Result{}, fmt.Errorf("%w: %s", reducer.ErrInvalidEvent, e.Message)
		case "no_reducer":
			return reducer.Result{}, fmt.Errorf("%w: %s", ErrNoReducer, e.Message)
		case "fold_failed":
			return reducer.Result{}, &reducer.FoldError{Node: node, Key: key, EventID: eventID, Err: errors.New(e.Message)}
		}
		return reducer.Result{}, fmt.Errorf("cluster: reducer %s key %q: %s: %s", node, key, e.Code, e.Message)
	}
	return reducer.Result{Sequence: rep.Sequence, State: rep.State, Intents: rep.Intents, Duplicate: rep.Duplicate, Projection: rep.Projection}, nil
}

// tracedMsg is a request to subject carrying ctx's trace context (traceparent), if any.
func tracedMsg(ctx context.Context, subject string, body []byte) *nats.Msg {
	msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
	tracing.Inject(ctx, http.Header(msg.Header))
	return msg
}

// serve answers a request on SubjectReduce (route it) or this host's subject (apply it),
// and logs it (debug level, as every request a host serves) with the trace and span ids
// it runs under: the caller's trace id from its traceparent, or a new one.
func (r *Reducers) serve(msg *nats.Msg) {
	select {
	case <-r.stopc:
		return // closing: the caller routes again
	default:
	}
	r.work.Add(1)
	go func() {
		defer r.work.Done()
		start := time.Now()
		base := tracing.WithIDs(tracing.Extract(context.Background(), http.Header(msg.Header)))
		var q reduceRequest
		var res reducer.Result
		err := json.Unmarshal(msg.Data, &q)
		defer func() {
			r.log.DebugContext(base, "request", "transport", "nats", "subject", msg.Subject, "node", q.Node,
				"key", q.Key, "event_id", q.Event.EventID, "sequence", res.Sequence, "duplicate", res.Duplicate,
				"error", err, "duration_ms", float64(time.Since(start).Microseconds())/1000)
		}()
		if err == nil {
			ctx, cancel := context.WithTimeout(base, 2*r.cfg.Lease)
			if !q.Owner {
				ctx, cancel = context.WithTimeout(base, time.Minute)
			}
			ctx = server.WithReduction(ctx, q.Reduction)
			switch {
			case q.Owner && (q.Key == "" || q.Event.EventID == "" || q.Event.Type == ""):
				err = reducer.ErrInvalidEvent
			case q.Owner:
				p := r.Partition(q.Node, q.Key)
				if held, _ := r.parts.holds(p); !held {
					err = ErrNotOwner
				} else {
					res, err = r.applyHere(ctx, p, q.Node, q.Key, q.Event)
				}
			default:
				res, err = r.Apply(ctx, q.Node, q.Key, q.Event)
			}
			cancel()
		}
		_ = msg.Respond(encodeReply(res, err))
	}()
}

// encodeReply is the ReduceReply of an Apply's answer.
func encodeReply(res reducer.Result, err error) []byte {
	rep := ReduceReply{Sequence: res.Sequence, State: res.State, Intents: res.Intents, Duplicate: res.Duplicate, Projection: res.Projection}
	if err != nil {
		rep = ReduceReply{Error: &ReduceError{Code: "unavailable", Message: err.Error()}}
		switch {
		case errors.Is(err, ErrNotOwner):
			rep.Error.Code = "not_owner"
		case errors.Is(err, reducer.ErrInvalidEvent):
			rep.Error.Code = "invalid_event"
		case errors.Is(err, ErrNoReducer):
			rep.Error.Code = "no_reducer"
		case errors.Is(err, reducer.ErrFold):
			rep.Error.Code = "fold_failed"
			var fe *reducer.FoldError
			if errors.As(err, &fe) {
				rep.Error.Message = fe.Err.Error()
			}
		}
	}
	b, _ := json.Marshal(rep)
	return b
}

// Close stops serving, waits for the requests in progress and releases this host's
// partitions, so that other hosts take them over at once.
func (r *Reducers) Close() {
	r.closing.Do(func() {
		r.unsubscribe()
		close(r.stopc)
		r.parts.stop()
		<-r.dispatched
		r.work.Wait()
		r.parts.release()
	})
}

// halt stops this host as a crash would: no more answers, no renewals, no release.
func (r *Reducers) halt() {
	r.closing.Do(func() {
		r.unsubscribe()
		close(r.stopc)
		r.parts.stop()
		<-r.dispatched
		r.work.Wait()
	})
}

func (r *Reducers) unsubscribe() {
	for _, s := range r.subs {
		_ = s.Unsubscribe()
	}
}
