package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/orchestrator"
)

// fakeEngine is a server.Workflows that keeps workflows in memory and runs nothing: a
// test moves them with set and emits events with emit. It follows the contract's
// errors and idempotency.
type fakeEngine struct {
	defs []string // the workflow names Start knows
	now  time.Time

	// mu guards wfs, subs and changed.
	mu      sync.Mutex
	wfs     map[string]orchestrator.Workflow
	subs    map[int]chan orchestrator.Event
	nextSub int
	changed chan struct{} // closed and replaced at every change, for Wait
}

func newFakeEngine(defs ...string) *fakeEngine {
	return &fakeEngine{defs: defs, now: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC),
		wfs: map[string]orchestrator.Workflow{}, subs: map[int]chan orchestrator.Event{}, changed: make(chan struct{})}
}

func final(s abi.WorkflowStatus) bool {
	return s == abi.WorkflowCompleted || s == abi.WorkflowFailed || s == abi.WorkflowCancelled
}

func (f *fakeEngine) Start(ctx context.Context, id, workflow string, input json.RawMessage) (orchestrator.Workflow, bool, error) {
	if id == "" || len(id) > 128 || !utf8.ValidString(id) || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return orchestrator.Workflow{}, false, orchestrator.ErrInvalidID
	}
	if !slices.Contains(f.defs, workflow) {
		return orchestrator.Workflow{}, false, orchestrator.ErrUnknownWorkflow
	}
	f.mu.Lock()
	if w, ok := f.wfs[id]; ok {
		f.mu.Unlock()
		if w.Workflow != workflow || !bytes.Equal(w.Input, input) {
			return orchestrator.Workflow{}, false, orchestrator.ErrConflict
		}
		return w, false, nil
	}
	w := orchestrator.Workflow{ID: id, Workflow: workflow, Status: abi.WorkflowRunning, Input: input, CreatedAt: f.now, UpdatedAt: f.now}
	f.wfs[id] = w
	f.mu.Unlock()
	f.emit(orchestrator.Event{WorkflowID: id, Workflow: workflow, Type: "workflow.started", Status: "running", At: f.now})
	return w, true, nil
}

func (f *fakeEngine) Get(id string) (orchestrator.Workflow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.wfs[id]
	if !ok {
		return w, orchestrator.ErrNotFound
	}
	return w, nil
}

func (f *fakeEngine) List(o orchestrator.ListOptions) ([]orchestrator.Summary, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o.Limit == 0 {
		o.Limit = 100
	}
	var out []orchestrator.Summary
	for _, id := range slices.Sorted(func(yield func(string) bool) {
		for id := range f.wfs {
			if !yield(id) {
				return
			}
		}
	}) {
		w := f.wfs[id]
		if id <= o.After || (o.Status != "" && w.Status != o.Status) {
			continue
		}
		if len(out) == o.Limit {
			return out, out[len(out)-1].ID, nil
		}
		done := 0
		for _, s := range w.Steps {
			if s.Status == abi.StepCompleted {
				done++
			}
		}
		out = append(out, orchestrator.Summary{ID: id, Workflow: w.Workflow, Status: w.Status, CreatedAt: w.CreatedAt,
			UpdatedAt: w.UpdatedAt, Steps: len(w.Steps), Done: done})
	}
	return out, "", nil
}

func (f *fakeEngine) Wait(ctx context.Context, id string) (orchestrator.Workflow, error) {
	for {
		f.mu.Lock()
		w, ok := f.wfs[id]
		changed := f.changed
		f.mu.Unlock()
		if !ok {
			return w, orchestrator.ErrNotFound
		}
		if final(w.Status) {
			return w, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return w, ctx.Err()
		}
	}
}

// control moves id to status unless it has ended, emitting event typ.
func (f *fakeEngine) control(id string, status abi.WorkflowStatus, typ string) (orchestrator.Workflow, error) {
	f.mu.Lock()
	w, ok := f.wfs[id]
	if !ok {
		f.mu.Unlock()
		return w, orchestrator.ErrNotFound
	}
	if final(w.Status) {
		f.mu.Unlock()
		return w, orchestrator.ErrFinished
	}
	f.mu.Unlock()
	w = f.set(id, func(w *orchestrator.Workflow) { w.Status = status })
	f.emit(orchestrator.Event{WorkflowID: id, Workflow: w.Workflow, Type: typ, Status: string(status), At: f.now})
	return w, nil
}

func (f *fakeEngine) Cancel(ctx context.Context, id string) (orchestrator.Workflow, error) {
	return f.control(id, abi.WorkflowCancelled, "workflow.cancelled")
}

func (f *fakeEngine) Pause(ctx context.Context, id string) (orchestrator.Workflow, error) {
	return f.control(id, abi.WorkflowPaused, "workflow.paused")
}

func (f *fakeEngine) Resume(ctx context.Context, id string) (orchestrator.Workflow, error) {
	return f.control(id, abi.WorkflowRunning, "workflow.resumed")
}

func (f *fakeEngine) Subscribe(buffer int) (<-chan orchestrator.Event, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan orchestrator.Event, buffer)
	n := f.nextSub
	f.nextSub++
	f.subs[n] = ch
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.subs[n]; ok {
			delete(f.subs, n)
			close(ch)
		}
	}
}

// subscribers is how many subscriptions are open.
func (f *fakeEngine) subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

func (f *fakeEngine) Counts() map[abi.WorkflowStatus]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[abi.WorkflowStatus]int{}
	for _, w := range f.wfs {
		out[w.Status]++
	}
	return out
}

// set changes workflow id with change and returns it.
func (f *fakeEngine) set(id string, change func(w *orchestrator.Workflow)) orchestrator.Workflow {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.wfs[id]
	change(&w)
	f.wfs[id] = w
	close(f.changed)
	f.changed = make(chan struct{})
	return w
}

// emit sends e to every subscriber, dropping it for a full one.
func (f *fakeEngine) emit(e orchestrator.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ch := range f.subs {
		select {
		case ch <- e:
		default:
		}
	}
}
