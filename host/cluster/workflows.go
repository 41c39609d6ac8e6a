package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/orchestrator"
)

// Buckets and subjects of the workflow store.
const (
	// workflowStateBucket holds one record per workflow (key "w.<partition>.<id in
	// base64url>"); workflowOwnersBucket one lease per workflow partition.
	workflowStateBucket  = "onex_workflows"
	workflowOwnersBucket = "onex_workflow_owners"
	// subjectWorkflowHost + host id is where a host takes control requests ("pause",
	// "resume", "cancel") for the workflows it runs, and "adopt" notices.
	subjectWorkflowHost = "onex.workflow.host."
	// subjectWorkflowReleased is where a closing host says it released its partitions:
	// every host sweeps at once instead of at its next tick.
	subjectWorkflowReleased = "onex.workflow.released"
)

// WorkflowsConfig configures Workflows. The zero value takes every default.
type WorkflowsConfig struct {
	// Partitions is the number of workflow partitions, each owned by one host at a
	// time; it must be the same on every host. Default 64.
	Partitions int
	// Lease is how long a partition's owner stays its owner after its last renewal (it
	// renews every Lease/3). Every host looks every Lease/2 for partitions whose lease
	// expired and that hold workflows not final, takes them and resumes those
	// workflows: a dead host's workflows go on elsewhere after about 1.5 Lease.
	// Default 1.5 s; at least 1 s (JetStream's per-message TTLs count whole seconds:
	// a shorter one is raised to 1 s).
	Lease time.Duration
	// Replicas of the buckets in a JetStream cluster; default 1.
	Replicas int
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// WorkflowEngine is what Workflows needs of the engine that runs the workflows it owns
// (*orchestrator.Engine).
type WorkflowEngine interface {
	Adopt(ctx context.Context, id string) error
	Running(id string) bool
	Release(id string)
	Pause(ctx context.Context, id string) (orchestrator.Workflow, error)
	Resume(ctx context.Context, id string) (orchestrator.Workflow, error)
	Cancel(ctx context.Context, id string) (orchestrator.Workflow, error)
}

// Workflows is an orchestrator.Store shared by the engines of a cluster (RATIONALE.md,
// "Workflows across a cluster"): each workflow's record lives in the JetStream
// key-value bucket "onex_workflows" and every write of it is a compare-and-set on its
// revision, so an engine that lost the workflow can never overwrite a newer record.
// Workflow ids are hashed into Partitions partitions, each owned by one host at a time
// through a lease in "onex_workflow_owners" (the same lease machinery as Reducers'),
// and a workflow runs on the engine of its partition's owner. Unlike reducer keys,
// taken over at their next event, workflows are taken over actively: every host looks
// every Lease/2 for partitions with workflows not final whose lease expired, takes
// them and resumes their workflows (Engine.Adopt): a step recorded as running runs
// again with the same attempt, so the same operation id, which EffectRecords
// deduplicate across the cluster.
//
// Use: NewWorkflows, orchestrator.OpenStore(w, cfg), then Attach(engine). Start may be
// called on any host (the record is created cluster-wide, idempotent by id; the
// partition's owner runs it); Get and List read the bucket; Pause, Resume and Cancel
// are sent to the owner. Engine.Subscribe's events stay on the owner's host.
//
// Safe for concurrent use. The engine closes it (Close), which releases its
// partitions so that other hosts take them over at once.
type Workflows struct {
	nc    *nats.Conn
	state jetstream.KeyValue
	parts *partitions
	host  string
	cfg   WorkflowsConfig
	log   *slog.Logger

	// mu guards engine, subs and final.
	mu     sync.Mutex
	engine WorkflowEngine
	subs   []*nats.Subscription
	final  map[string]struct{} // ids known to be final: they never change again

	takeOvers atomic.Uint64

	kick    chan struct{} // wakes the watcher (a partition was taken)
	ctx     context.Context
	stop    context.CancelFunc
	watched chan struct{} // closed when the watcher returned (or never started)
	work    sync.WaitGroup
	closing sync.Once
}

// NewWorkflows opens the workflow buckets on nc's JetStream for this host (hostID,
// default a unique id) and starts renewing its partition leases. Nothing runs here
// until Attach. Errors: JetStream is not available, or a bucket cannot be created.
func NewWorkflows(ctx context.Context, nc *nats.Conn, hostID string, cfg WorkflowsConfig) (*Workflows, error) {
	if hostID == "" {
		hostID = nuid.Next()
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = 64
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 1500 * time.Millisecond
	}
	cfg.Lease = max(cfg.Lease, time.Second)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: JetStream: %w", err)
	}
	kvs, err := keyValues(ctx, nc, cfg.Replicas,
		[2]string{workflowStateBucket, "onex-host: workflow records"},
		[2]string{workflowOwnersBucket, "onex-host: workflow partition leases"})
	if err != nil {
		return nil, err
	}
	state, owner := kvs[0], kvs[1]
	w := &Workflows{nc: nc, state: state, host: hostID, cfg: cfg, log: cfg.Logger, final: map[string]struct{}{},
		kick: make(chan struct{}, 1), watched: make(chan struct{})}
	w.ctx, w.stop = context.WithCancel(context.Background())
	w.parts = newPartitions(js, owner, workflowOwnersBucket, hostID, cfg.Lease, cfg.Logger, "workflow partition")
	w.parts.taken = func(int) { w.wake() }
	w.parts.lost = func(p int) {
		w.work.Add(1)
		go func() {
			defer w.work.Done()
			w.releaseLost(p)
		}()
	}
	go w.parts.renew()
	return w, nil
}

// HostID returns this host's id.
func (w *Workflows) HostID() string { return w.host }

// Shared reports true: the store is shared by the engines of a cluster
// (orchestrator.OpenStore then resumes nothing itself: Attach's watcher adopts).
func (w *Workflows) Shared() bool { return true }

// TakeOvers returns how many partitions holding workflows not final this host took
// over from a host whose lease had expired (or that left). It does not block.
func (w *Workflows) TakeOvers() uint64 { return w.takeOvers.Load() }

// Partition returns the partition of workflow id.
func (w *Workflows) Partition(id string) int {
	h := fnv.New64a()
	h.Write([]byte(id))
	return int(h.Sum64() % uint64(w.cfg.Partitions))
}

// Owner returns the host owning workflow id's partition, or "" when none does.
func (w *Workflows) Owner(ctx context.Context, id string) (string, error) {
	e, err := w.parts.kv.Get(ctx, leaseKey(w.Partition(id)))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return "", nil
	case err != nil:
		return "", err
	}
	return string(e.Value()), nil
}

// Attach makes engine (opened over w) run the workflows of the partitions this host
// owns or takes over, and serves control requests for them. Call it once, after
// orchestrator.OpenStore. Errors: the subscription failed.
func (w *Workflows) Attach(engine WorkflowEngine) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.engine != nil {
		return errors.New("cluster: workflows: attached twice")
	}
	sub, err := w.nc.Subscribe(subjectWorkflowHost+w.host, w.serve)
	if err != nil {
		return fmt.Errorf("cluster: workflows: subscribe: %w", err)
	}
	rel, err := w.nc.Subscribe(subjectWorkflowReleased, func(*nats.Msg) { w.wake() })
	if err == nil {
		err = w.nc.Flush()
	}
	if err != nil {
		_ = sub.Unsubscribe()
		if rel != nil {
			_ = rel.Unsubscribe()
		}
		return fmt.Errorf("cluster: workflows: %w", err)
	}
	w.engine, w.subs = engine, []*nats.Subscription{sub, rel}
	go w.watch()
	return nil
}

func (w *Workflows) attached() WorkflowEngine {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.engine
}

// workflowKey is the key-value key of workflow id.
func (w *Workflows) workflowKey(id string) string {
	return "w." + strconv.Itoa(w.Partition(id)) + "." + base64.RawURLEncoding.EncodeToString([]byte(id))
}

// parseWorkflowKey returns the partition and id of a workflow key.
func parseWorkflowKey(k string) (int, string, bool) {
	rest, ok := strings.CutPrefix(k, "w.")
	if !ok {
		return 0, "", false
	}
	ps, enc, ok := strings.Cut(rest, ".")
	p, err := strconv.Atoi(ps)
	id, derr := base64.RawURLEncoding.DecodeString(enc)
	if !ok || err != nil || derr != nil {
		return 0, "", false
	}
	return p, string(id), true
}

// Create implements orchestrator.Store: a create of the key, atomic cluster-wide, so
// Start is idempotent by id across hosts.
func (w *Workflows) Create(ctx context.Context, id string, rec []byte) ([]byte, uint64, bool, error) {
	rev, err := w.state.Create(ctx, w.workflowKey(id), rec)
	if err == nil {
		return nil, rev, true, nil
	}
	if !isStale(err) {
		return nil, 0, false, fmt.Errorf("cluster: workflow %q: create: %w", id, err)
	}
	old, rev, err := w.Get(ctx, id)
	return old, rev, false, err
}

// Put implements orchestrator.Store: a compare-and-set on rev, refused (ErrLost) when
// this host does not hold the workflow's partition any more.
func (w *Workflows) Put(ctx context.Context, id string, rev uint64, rec []byte) (uint64, error) {
	if !w.parts.owns(w.Partition(id)) {
		return 0, fmt.Errorf("%w: its partition is not held here", orchestrator.ErrLost)
	}
	next, err := w.state.Update(ctx, w.workflowKey(id), rec, rev)
	if isStale(err) {
		return 0, fmt.Errorf("%w: the record changed since revision %d", orchestrator.ErrLost, rev)
	}
	if err != nil {
		return 0, fmt.Errorf("cluster: workflow %q: write: %w", id, err)
	}
	if isFinal(rec) {
		w.mu.Lock()
		w.final[id] = struct{}{}
		w.mu.Unlock()
	}
	return next, nil
}

// Get implements orchestrator.Store: the record and its revision as JetStream has them
// now (the value is the entry's, not a copy), orchestrator.ErrNotFound for none.
func (w *Workflows) Get(ctx context.Context, id string) ([]byte, uint64, error) {
	e, err := w.state.Get(ctx, w.workflowKey(id))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return nil, 0, orchestrator.ErrNotFound
	case err != nil:
		return nil, 0, fmt.Errorf("cluster: workflow %q: read: %w", id, err)
	}
	return e.Value(), e.Revision(), nil
}

// keys returns the workflow ids in the bucket, by partition.
func (w *Workflows) keys(ctx context.Context) (map[int][]string, error) {
	lister, err := w.state.ListKeysFiltered(ctx, "w.>")
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("cluster: workflows: list: %w", err)
	}
	out := map[int][]string{}
	for k := range lister.Keys() {
		if p, id, ok := parseWorkflowKey(k); ok {
			out[p] = append(out[p], id)
		}
	}
	return out, nil
}

// Scan implements orchestrator.Store: it lists the bucket's keys, then reads the
// records after after one by one (a record deleted meanwhile is skipped).
func (w *Workflows) Scan(ctx context.Context, after string, fn func(string, []byte, uint64) bool) error {
	byPart, err := w.keys(ctx)
	if err != nil {
		return err
	}
	var ids []string
	for _, in := range byPart {
		for _, id := range in {
			if id > after {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		b, rev, err := w.Get(ctx, id)
		if errors.Is(err, orchestrator.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !fn(id, b, rev) {
			return nil
		}
	}
	return nil
}

// Claim implements orchestrator.Store: this host runs id if it owns (or takes) id's
// partition. Otherwise the owner is told to adopt it (a notice that may be lost: its
// owner's watcher finds it within Lease/2 anyway).
func (w *Workflows) Claim(ctx context.Context, id string) (bool, error) {
	owner, err := w.parts.ownerOf(ctx, w.Partition(id))
	switch {
	case errors.Is(err, errLeaseBusy):
		return false, nil // held by a host that died or is taking it: its watcher adopts it
	case err != nil:
		return false, err
	case owner == w.host:
		return true, nil
	}
	body, _ := json.Marshal(workflowRequest{Op: "adopt", ID: id})
	_ = w.nc.Publish(subjectWorkflowHost+owner, body)
	return false, nil
}

// workflowRequest is a request to a workflow's owner; workflowReply its answer.
type workflowRequest struct {
	Op string `json:"op"` // "adopt" (no answer), "pause", "resume", "cancel"
	ID string `json:"id"`
}

type workflowReply struct {
	Workflow *orchestrator.Workflow `json:"workflow,omitempty"`
	Error    *ReduceError           `json:"error,omitempty"` // Code: "not_found", "finished", "not_owner", "unavailable"
}

// Control implements orchestrator.Store: op is sent to the owner of id's partition and
// its answer returned. While no host answers for the partition (its owner died; the
// lease must expire first), it is sent again until ctx ends.
func (w *Workflows) Control(ctx context.Context, id, op string) (orchestrator.Workflow, error) {
	p := w.Partition(id)
	backoff := 10 * time.Millisecond
	for {
		owner, err := w.parts.ownerOf(ctx, p)
		if err == nil && owner == w.host {
			return w.controlHere(ctx, id, op)
		}
		if err == nil {
			var wf orchestrator.Workflow
			wf, err = w.forward(ctx, owner, id, op)
			if !errors.Is(err, ErrNotOwner) && !errors.Is(err, nats.ErrNoResponders) && !errors.Is(err, nats.ErrTimeout) {
				return wf, err
			}
			w.parts.forget(p, owner)
		} else if !errors.Is(err, errLeaseBusy) {
			return orchestrator.Workflow{}, err
		}
		select {
		case <-ctx.Done():
			return orchestrator.Workflow{}, fmt.Errorf("cluster: workflow %q: %s: %w (last error: %v)", id, op, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, w.cfg.Lease/10)
	}
}

// controlHere applies op to id on this host's engine, which owns its partition.
func (w *Workflows) controlHere(ctx context.Context, id, op string) (orchestrator.Workflow, error) {
	e := w.attached()
	if e == nil {
		return orchestrator.Workflow{}, fmt.Errorf("%w: no engine attached yet", ErrNotOwner)
	}
	if !e.Running(id) {
		if err := e.Adopt(ctx, id); err != nil {
			return orchestrator.Workflow{}, err
		}
		if !e.Running(id) { // final meanwhile: the engine answers ErrFinished
			b, _, err := w.Get(ctx, id)
			if err == nil && !isFinal(b) {
				err = fmt.Errorf("cluster: workflow %q is not run on this host", id)
			} else if err == nil {
				err = fmt.Errorf("%w: %q", orchestrator.ErrFinished, id)
			}
			return orchestrator.Workflow{}, err
		}
	}
	switch op {
	case "pause":
		return e.Pause(ctx, id)
	case "resume":
		return e.Resume(ctx, id)
	case "cancel":
		return e.Cancel(ctx, id)
	}
	return orchestrator.Workflow{}, fmt.Errorf("cluster: workflow %q: unknown operation %q", id, op)
}

// forward sends op on id to owner and waits for its answer. Pause and resume, which
// are answered once recorded, wait at most a Lease (then Control routes them again: they
// are idempotent); a cancel is answered when the workflow is final (its compensations
// done), so it waits until ctx ends: an owner that dies meanwhile leaves it to ctx.
func (w *Workflows) forward(ctx context.Context, owner, id, op string) (orchestrator.Workflow, error) {
	body, err := json.Marshal(workflowRequest{Op: op, ID: id})
	if err != nil {
		return orchestrator.Workflow{}, err
	}
	wctx := ctx
	if op != "cancel" {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, w.cfg.Lease)
		defer cancel()
	}
	msg, err := w.nc.RequestWithContext(wctx, subjectWorkflowHost+owner, body)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return orchestrator.Workflow{}, nats.ErrTimeout
		}
		return orchestrator.Workflow{}, err
	}
	var rep workflowReply
	if err := json.Unmarshal(msg.Data, &rep); err != nil {
		return orchestrator.Workflow{}, fmt.Errorf("cluster: workflow reply: %w", err)
	}
	if e := rep.Error; e != nil {
		switch e.Code {
		case "not_found":
			return orchestrator.Workflow{}, fmt.Errorf("%w: %s", orchestrator.ErrNotFound, e.Message)
		case "finished":
			return orchestrator.Workflow{}, fmt.Errorf("%w: %s", orchestrator.ErrFinished, e.Message)
		case "not_owner":
			return orchestrator.Workflow{}, ErrNotOwner
		}
		return orchestrator.Workflow{}, fmt.Errorf("cluster: workflow %q: %s: %s: %s", id, op, e.Code, e.Message)
	}
	if rep.Workflow == nil {
		return orchestrator.Workflow{}, fmt.Errorf("cluster: workflow %q: %s: empty reply", id, op)
	}
	return *rep.Workflow, nil
}

// serve answers a request on this host's subject.
func (w *Workflows) serve(msg *nats.Msg) {
	var q workflowRequest
	if err := json.Unmarshal(msg.Data, &q); err != nil {
		return
	}
	if w.ctx.Err() != nil {
		return
	}
	w.work.Add(1)
	go func() {
		defer w.work.Done()
		if q.Op == "adopt" {
			w.adopt(w.ctx, q.ID)
			return
		}
		var rep workflowReply
		if !w.parts.owns(w.Partition(q.ID)) {
			rep.Error = &ReduceError{Code: "not_owner", Message: "this host does not own the workflow's partition"}
		} else if wf, err := w.controlHere(w.ctx, q.ID, q.Op); err != nil {
			rep.Error = &ReduceError{Code: "unavailable", Message: err.Error()}
			switch {
			case errors.Is(err, orchestrator.ErrNotFound):
				rep.Error.Code = "not_found"
			case errors.Is(err, orchestrator.ErrFinished):
				rep.Error.Code = "finished"
			case errors.Is(err, ErrNotOwner):
				rep.Error.Code = "not_owner"
			}
		} else {
			rep.Workflow = &wf
		}
		b, _ := json.Marshal(rep)
		_ = msg.Respond(b)
	}()
}

// wake makes the watcher look now.
func (w *Workflows) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// watch looks every Lease/2 (and when a partition was taken) for workflows to run
// here: those not final of the partitions this host owns that its engine does not run
// (a Start on another host, a lost notice), and those of partitions nobody holds
// (their host died or left), which it takes.
func (w *Workflows) watch() {
	defer close(w.watched)
	tick := time.NewTicker(w.cfg.Lease / 2)
	defer tick.Stop()
	for {
		w.sweep(w.ctx)
		select {
		case <-w.ctx.Done():
			return
		case <-tick.C:
		case <-w.kick:
		}
	}
}

// sweep is one look of the watcher.
func (w *Workflows) sweep(ctx context.Context) {
	byPart, err := w.keys(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("workflows: sweep", "error", err)
		}
		return
	}
	for p, ids := range byPart {
		w.mu.Lock()
		live := ids[:0]
		for _, id := range ids {
			if _, done := w.final[id]; !done {
				live = append(live, id)
			}
		}
		w.mu.Unlock()
		if len(live) == 0 || ctx.Err() != nil {
			continue
		}
		if !w.parts.owns(p) {
			if !w.parts.free(ctx, p) {
				continue // owned elsewhere: its owner runs them
			}
			if owner, err := w.parts.ownerOf(ctx, p); err != nil || owner != w.host {
				continue
			}
			w.takeOvers.Add(1)
			w.log.Info("workflow partition taken over", "partition", p, "host", w.host)
		}
		for _, id := range live {
			w.adopt(ctx, id)
		}
	}
}

// adopt makes this host's engine run workflow id if it is not final and this host owns
// its partition.
func (w *Workflows) adopt(ctx context.Context, id string) {
	e := w.attached()
	if e == nil || e.Running(id) || !w.parts.owns(w.Partition(id)) {
		return
	}
	b, _, err := w.Get(ctx, id)
	if err != nil {
		return
	}
	if isFinal(b) {
		w.mu.Lock()
		w.final[id] = struct{}{}
		w.mu.Unlock()
		return
	}
	if err := e.Adopt(ctx, id); err != nil && ctx.Err() == nil {
		w.log.Warn("workflow not resumed here", "id", id, "error", err)
	}
}

// releaseLost stops the loops this host's engine runs for partition p, which it lost:
// their attempts are cancelled now instead of running on beside the new owner's until
// their next write fails.
func (w *Workflows) releaseLost(p int) {
	e := w.attached()
	if e == nil {
		return
	}
	byPart, err := w.keys(w.ctx)
	if err != nil {
		return // their next writes fail (ErrLost) and stop them
	}
	for _, id := range byPart[p] {
		if e.Running(id) && !w.parts.owns(p) {
			e.Release(id)
		}
	}
}

// isFinal reports whether a workflow record's status is final.
func isFinal(rec []byte) bool {
	var r struct {
		Status abi.WorkflowStatus `json:"status"`
	}
	if json.Unmarshal(rec, &r) != nil {
		return false
	}
	return r.Status == abi.WorkflowCompleted || r.Status == abi.WorkflowFailed || r.Status == abi.WorkflowCancelled
}

// Close implements orchestrator.Store (the engine calls it in its Close, once its
// workflows' loops have returned): it stops the watcher and the control requests,
// releases this host's partitions and tells the other hosts, which sweep at once and
// take them over.
// Idempotent.
func (w *Workflows) Close() error {
	w.closing.Do(func() {
		w.halt()
		w.parts.release()
		_ = w.nc.Publish(subjectWorkflowReleased, []byte(w.host))
		_ = w.nc.Flush()
	})
	return nil
}

// halt stops this host as a crash would: no more answers, no renewals, no release.
func (w *Workflows) halt() {
	w.mu.Lock()
	subs, attached := w.subs, w.engine != nil
	w.mu.Unlock()
	for _, s := range subs {
		_ = s.Unsubscribe()
	}
	w.stop()
	select { // no renewal (so no lost partition) after this
	case <-w.parts.stopc:
	default:
		w.parts.stop()
	}
	if attached {
		<-w.watched
	}
	w.work.Wait()
}
