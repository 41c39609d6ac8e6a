package orchestrator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/onexhost/onex-host/abi"
)

// Engine runs workflows durably: see the package comment. Create one with Open and
// release it with Close; the zero value is not usable. Safe for concurrent use by
// multiple goroutines: workflows run in parallel, each in its own goroutine that alone
// writes its record. One file is open in one process at a time (bbolt's lock).
type Engine struct {
	cfg    Config
	defs   map[string]Definition
	st     store
	events events
	ctx    context.Context // cancelled by Close
	stop   context.CancelFunc
	wg     sync.WaitGroup // one per workflow loop

	// mu guards runs, starting, counts and closed.
	mu       sync.Mutex
	runs     map[string]*run          // workflows not final, by id
	starting map[string]chan struct{} // ids a Start is creating; closed when it is done
	counts   map[abi.WorkflowStatus]int
	closed   bool
}

// Open opens (creating, mode 0600) the workflow store at path — serve uses
// <data_dir>/workflows.db — and resumes, each in a background goroutine, every workflow
// whose status is running: a step recorded as running is run again with the same
// attempt number and so the same operation id; retries wait out their recorded due
// time. Paused workflows wait for Resume. Errors: a bad Config, or the file cannot be
// opened, locked (5 s) or read.
func Open(path string, cfg Config) (*Engine, error) {
	if _, _, err := cfg.check(); err != nil {
		return nil, err
	}
	st, err := openStore(path, cfg.NoSync)
	if err != nil {
		return nil, err
	}
	e, err := OpenStore(st, cfg)
	if err != nil {
		_ = st.Close()
	}
	return e, err
}

// OpenStore is Open over st (which the engine closes in Close): it resumes the
// workflows not final that st lets it claim (Store.Claim). A Store shared by several
// engines (host/cluster's Workflows) says so with a method Shared() bool answering
// true; then OpenStore reads nothing: the store calls Adopt for the workflows this
// engine is to run, as it takes them over, and Counts counts the workflows this engine
// ran, by the status it last wrote (summed over the engines, the cluster's). Errors:
// a bad Config, or st cannot be read.
func OpenStore(st Store, cfg Config) (*Engine, error) {
	cfg, defs, err := cfg.check()
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	e := &Engine{cfg: cfg, defs: defs, st: store{st}, ctx: ctx, stop: stop, runs: map[string]*run{}, starting: map[string]chan struct{}{}, counts: map[abi.WorkflowStatus]int{}}
	if s, ok := st.(interface{ Shared() bool }); ok && s.Shared() {
		return e, nil
	}
	var resume []*record
	err = e.st.scan(ctx, "", func(r *record) bool {
		e.counts[r.Status]++
		if !final(r.Status) {
			resume = append(resume, r)
		}
		return true
	})
	if err != nil {
		stop()
		return nil, err
	}
	kept := resume[:0]
	for _, r := range resume {
		if mine, err := st.Claim(ctx, r.ID); err == nil && mine {
			kept = append(kept, r)
		}
	}
	e.mu.Lock() // loops that end quickly remove themselves from runs
	defer e.mu.Unlock()
	for _, r := range kept {
		d, ok := defs[r.Workflow]
		if !ok {
			cfg.Log.Warn("orchestrator: workflow not resumed: no definition", "id", r.ID, "workflow", r.Workflow)
			continue
		}
		e.spawn(r, d)
	}
	return e, nil
}

// Adopt resumes workflow id on this engine, reading its record from the store afresh,
// unless it is final, already runs here, or has no definition here (then it is left
// to an engine that has one, and Adopt says so). A shared Store calls it when this
// engine takes the workflow over; it does not block on the workflow. Errors:
// ErrNotFound, ErrClosed, a read error.
func (e *Engine) Adopt(ctx context.Context, id string) error {
	release, err := e.claim(ctx, id)
	if err != nil {
		return err
	}
	defer release()
	e.mu.Lock()
	_, running := e.runs[id]
	e.mu.Unlock()
	if running {
		return nil
	}
	rec, err := e.st.get(ctx, id)
	if err != nil {
		return err
	}
	if final(rec.Status) {
		return nil
	}
	d, ok := e.defs[rec.Workflow]
	if !ok {
		return fmt.Errorf("%w: %q (workflow %q not resumed here)", ErrUnknownWorkflow, rec.Workflow, id)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	e.counts[rec.Status]++
	e.spawn(rec, d)
	return nil
}

// Release stops workflow id's loop here as Close stops them all, without writing: its
// running attempts are cancelled and not recorded. A shared Store calls it when this
// engine lost the workflow's partition (another engine runs it now, or soon). It
// blocks until the loop has returned (attempts honour their context); a workflow not
// run here is a no-op.
func (e *Engine) Release(id string) {
	e.mu.Lock()
	r := e.runs[id]
	if r != nil {
		r.lost = true // counted by the engine that runs it next
	}
	e.mu.Unlock()
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
}

// Running reports whether workflow id runs on this engine now (it is not final and
// its loop is here). It does not block on I/O.
func (e *Engine) Running(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.runs[id]
	return ok
}

// Close stops every workflow loop: running attempts are cancelled and not recorded, so
// their workflows stay running on disk and resume (the attempt run again with the
// same operation id) at the next Open. It blocks until the loops have returned, which
// waits for Runners to honour their context. Then Subscribe channels are closed.
// Idempotent.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	e.stop()
	e.wg.Wait()
	e.events.closeAll()
	return e.st.s.Close()
}

// spawn starts the loop of rec; e.mu is held.
func (e *Engine) spawn(rec *record, d Definition) *run {
	r := newRun(e, rec, d)
	e.runs[rec.ID] = r
	e.wg.Add(1)
	go r.loop()
	return r
}

// run returns the loop of workflow id, nil when it has none (final, unknown); it
// waits for a Start of id in progress, so a workflow being created is not mistaken
// for one without a loop.
func (e *Engine) run(id string) (*run, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for {
		if e.closed {
			return nil, ErrClosed
		}
		ch, busy := e.starting[id]
		if !busy {
			return e.runs[id], nil
		}
		e.mu.Unlock()
		<-ch
		e.mu.Lock()
	}
}

// claim marks id as being started, after any other Start of it; the returned function
// ends the claim.
func (e *Engine) claim(ctx context.Context, id string) (func(), error) {
	e.mu.Lock()
	for {
		ch, busy := e.starting[id]
		if !busy {
			break
		}
		e.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		e.mu.Lock()
	}
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	ch := make(chan struct{})
	e.starting[id] = ch
	e.mu.Unlock()
	return func() {
		e.mu.Lock()
		delete(e.starting, id)
		e.mu.Unlock()
		close(ch)
	}, nil
}

// Start starts workflow with input under the caller-given id and returns once it is
// durably recorded as running (its steps run in the background). It is idempotent by
// id: the same id, workflow and input answer the existing workflow, whatever its
// status, with created false. Inputs are compared as JSON values (object members in
// any order, whitespace ignored, numbers as written: 1 and 1.0 differ), so a client
// that encodes the same object again in another member order retries safely. Errors:
// ErrInvalidID (1–128 bytes of UTF-8 without control characters), ErrUnknownWorkflow,
// ErrConflict (the id is used with another workflow or input), an input that is not
// JSON, ErrClosed, or a failed write.
func (e *Engine) Start(ctx context.Context, id, workflow string, input json.RawMessage) (Workflow, bool, error) {
	if !validID(id) {
		return Workflow{}, false, fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	d, ok := e.defs[workflow]
	if !ok {
		return Workflow{}, false, fmt.Errorf("%w: %q", ErrUnknownWorkflow, workflow)
	}
	in := []byte("null")
	if len(bytes.TrimSpace(input)) > 0 {
		var b bytes.Buffer
		if err := json.Compact(&b, input); err != nil {
			return Workflow{}, false, fmt.Errorf("orchestrator: start %q: input is not JSON: %w", id, err)
		}
		in = b.Bytes()
	}
	if err := ctx.Err(); err != nil {
		return Workflow{}, false, err
	}
	release, err := e.claim(ctx, id)
	if err != nil {
		return Workflow{}, false, err
	}
	defer release()
	now := e.cfg.Now()
	rec := &record{
		ID: id, Workflow: workflow, Status: abi.WorkflowRunning, Input: in, Memo: json.RawMessage("null"),
		Steps: []stepRecord{}, CreatedAt: now, UpdatedAt: now, Deadline: now.Add(d.Timeout), NeedPlan: true,
	}
	got, created, err := e.st.create(ctx, rec)
	if err != nil {
		return Workflow{}, false, err
	}
	if !created {
		if got.Workflow != workflow || !sameJSON(got.Input, in) {
			return Workflow{}, false, fmt.Errorf("%w: %q runs %q with another input", ErrConflict, id, got.Workflow)
		}
		return got.workflow(), false, nil
	}
	w := rec.workflow() // before the loop owns rec
	if mine, err := e.st.s.Claim(ctx, id); err != nil || !mine {
		// Recorded: the engine that owns it runs it (a shared store).
		return w, true, nil
	}
	e.mu.Lock()
	if e.closed { // recorded: it resumes at the next Open
		e.mu.Unlock()
		return w, true, nil
	}
	e.counts[abi.WorkflowRunning]++
	// Sent before the loop exists, so it precedes the workflow's step events.
	e.events.emit([]Event{{WorkflowID: id, Workflow: workflow, Type: "workflow.started", Status: string(abi.WorkflowRunning), At: now}})
	e.spawn(rec, d)
	e.mu.Unlock()
	return w, true, nil
}

// Get returns the workflow's recorded state. Errors: ErrNotFound, ErrClosed.
func (e *Engine) Get(id string) (Workflow, error) {
	if _, err := e.run(id); err != nil {
		return Workflow{}, err
	}
	r, err := e.st.get(e.ctx, id)
	if err != nil {
		return Workflow{}, err
	}
	return r.workflow(), nil
}

// List returns up to o.Limit workflows (default 100, at most 1000) with ids after
// o.After, in id order, of status o.Status when it is set; next is the id to pass as
// After for the next page, "" on the last. Errors: ErrClosed, a corrupt record.
func (e *Engine) List(o ListOptions) ([]Summary, string, error) {
	if _, err := e.run(""); err != nil {
		return nil, "", err
	}
	limit := o.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	var out []Summary
	next := ""
	err := e.st.scan(e.ctx, o.After, func(r *record) bool {
		if o.Status != "" && r.Status != o.Status {
			return true
		}
		if len(out) == limit {
			next = out[len(out)-1].ID
			return false
		}
		out = append(out, r.summary())
		return true
	})
	return out, next, err
}

// Wait blocks until the workflow has a final status and returns it. A workflow run by
// another engine (a shared Store) is looked at again every 50 ms. Errors: ErrNotFound,
// ErrClosed (also when the engine closes while waiting), ctx's error.
func (e *Engine) Wait(ctx context.Context, id string) (Workflow, error) {
	for {
		r, err := e.run(id)
		if err != nil {
			return Workflow{}, err
		}
		if r != nil {
			select {
			case <-r.done:
			case <-ctx.Done():
				return Workflow{}, ctx.Err()
			}
		}
		w, err := e.Get(id)
		if err != nil || final(w.Status) {
			return w, err
		}
		if e.ctx.Err() != nil {
			return w, ErrClosed
		}
		if _, ok := e.defs[w.Workflow]; !ok {
			return w, fmt.Errorf("orchestrator: workflow %q is %s with no definition to run it", id, w.Status)
		}
		// Not final and its loop is not (or no longer) here: another engine runs it.
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return w, ctx.Err()
		case <-e.ctx.Done():
			t.Stop()
			return w, ErrClosed
		case <-t.C:
		}
	}
}

// Counts returns how many workflows the store holds in each status (with a shared
// Store: how many this engine ran, by the status it last wrote; see OpenStore). It does not block
// on I/O.
func (e *Engine) Counts() map[abi.WorkflowStatus]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[abi.WorkflowStatus]int, len(e.counts))
	for s, n := range e.counts {
		if n > 0 {
			out[s] = n
		}
	}
	return out
}

func (e *Engine) transition(from, to abi.WorkflowStatus) {
	if from == to {
		return
	}
	e.mu.Lock()
	e.counts[from]--
	e.counts[to]++
	e.mu.Unlock()
}

// sameJSON reports whether a and b (valid JSON) are the same value: equal bytes, or
// equal once decoded, objects' members in any order, numbers compared as written.
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	decode := func(b []byte) (any, bool) {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		return v, dec.Decode(&v) == nil
	}
	va, okA := decode(a)
	vb, okB := decode(b)
	return okA && okB && reflect.DeepEqual(va, vb)
}
