package orchestrator

import (
	"context"
	"errors"
	"time"

	"github.com/onexhost/onex-host/abi"
)

// run is the loop of one workflow that is not final: the only writer of its record.
// Each turn takes what arrived (an attempt's result, a control request, a timer),
// changes the record in memory, lets the planner decide if a step ended, picks the
// attempts to start, and then writes the record once — before any of it takes effect:
// before an attempt is handed to the Runner, before a control request is answered,
// before an event is sent. A crash before that write loses the turn as a whole; the
// planner is pure, so the next Open decides the same again, and an attempt that was
// running is run again with the same operation id.
type run struct {
	e    *Engine
	def  Definition
	rec  *record
	ctl  chan ctlReq
	res  chan result
	done chan struct{} // closed when the loop has returned

	ctx      context.Context // the engine's, or Release's; attempts derive from it
	cancel   context.CancelFunc
	attempts map[int]context.CancelFunc
	evs      []Event
	replies  []ctlReq
	dirty    bool
	written  abi.WorkflowStatus // the status last written (Counts follow it)
	lost     bool               // ErrLost or Release: another engine runs it now (guarded by e.mu)
}

func newRun(e *Engine, rec *record, d Definition) *run {
	ctx, cancel := context.WithCancel(e.ctx)
	return &run{
		e: e, def: d, rec: rec, ctl: make(chan ctlReq), res: make(chan result), done: make(chan struct{}),
		ctx: ctx, cancel: cancel, attempts: map[int]context.CancelFunc{}, written: rec.Status,
	}
}

func (r *run) now() time.Time { return r.e.cfg.Now() }

func (r *run) event(typ, step string, attempt int, status string, d time.Duration, errMsg string) {
	r.evs = append(r.evs, Event{
		WorkflowID: r.rec.ID, Workflow: r.rec.Workflow, Type: typ, Step: step, Attempt: attempt,
		Status: status, Duration: d, Error: errMsg, At: r.now(),
	})
}

func (r *run) loop() {
	defer r.e.wg.Done()
	defer r.exit()
	defer r.cancel()
	if r.rec.Ending != nil {
		r.cancelRecordedRunning()
	} else if r.rec.Status == abi.WorkflowRunning || r.rec.Status == abi.WorkflowPaused {
		// Resumed: attempts recorded as running run again with the same attempt number.
		for i := range r.rec.Steps {
			if r.rec.Steps[i].Status == abi.StepRunning {
				r.launch(i)
			}
		}
	}
	for first := true; ; first = false {
		if !first && !r.wait() {
			r.stopAttempts()
			return
		}
		var starts []int
		if r.rec.Ending == nil && !r.now().Before(r.rec.Deadline) {
			r.timedOut()
		}
		if r.rec.Ending == nil && r.rec.Status == abi.WorkflowRunning {
			if r.rec.NeedPlan && !r.plan() {
				r.stopAttempts() // the engine is closing
				return
			}
			if r.rec.Ending == nil {
				starts = r.pickStarts()
			}
		}
		if r.rec.Ending != nil {
			for _, cancel := range r.attempts {
				cancel()
			}
		}
		if !r.flush() {
			r.stopAttempts()
			return
		}
		for _, i := range starts {
			r.launch(i)
		}
		if r.rec.Ending != nil && len(r.attempts) == 0 {
			r.finish()
			return
		}
	}
}

// flush writes the record if the turn changed it, then sends the turn's events and
// answers its control requests. It reports false when the write failed (the workflow
// stays as last written and resumes at the next Open).
func (r *run) flush() bool {
	if !r.dirty {
		return true
	}
	r.rec.UpdatedAt = r.now()
	if err := r.e.st.put(r.ctx, r.rec); err != nil {
		switch {
		case r.ctx.Err() != nil:
		case errors.Is(err, ErrLost):
			r.e.mu.Lock()
			r.lost = true
			r.e.mu.Unlock()
			r.e.cfg.Log.Info("orchestrator: workflow taken over by another host", "id", r.rec.ID)
		default:
			r.e.cfg.Log.Error("orchestrator: workflow loop stopped", "id", r.rec.ID, "err", err)
		}
		for _, q := range r.replies {
			q.reply <- ctlReply{err: err}
		}
		r.replies = nil
		return false
	}
	r.dirty = false
	r.e.transition(r.written, r.rec.Status)
	r.written = r.rec.Status
	r.e.events.emit(r.evs)
	r.evs = r.evs[:0]
	w := r.rec.workflow()
	for _, q := range r.replies {
		q.reply <- ctlReply{w: w}
	}
	r.replies = r.replies[:0]
	return true
}

// wait blocks until something arrives and applies it; false when the engine closes.
func (r *run) wait() bool {
	var timer <-chan time.Time
	if r.rec.Ending == nil {
		next := r.rec.Deadline
		if r.rec.Status == abi.WorkflowRunning {
			for _, s := range r.rec.Steps {
				if s.Status == abi.StepScheduled && !s.Due.IsZero() && s.Due.Before(next) {
					next = s.Due
				}
			}
		}
		t := time.NewTimer(max(0, next.Sub(r.now())))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-r.ctx.Done():
		return false
	case res := <-r.res:
		r.onResult(res)
	case q := <-r.ctl:
		r.control(q)
	case <-timer:
	}
	for { // take every result already waiting, so they share one write
		select {
		case res := <-r.res:
			r.onResult(res)
		default:
			return true
		}
	}
}

// pickStarts marks the scheduled steps that are due as running, in decision order, up
// to MaxParallel running at once.
func (r *run) pickStarts() []int {
	var starts []int
	now := r.now()
	running := len(r.attempts)
	for i := range r.rec.Steps {
		s := &r.rec.Steps[i]
		if running >= r.def.MaxParallel {
			break
		}
		if s.Status != abi.StepScheduled || now.Before(s.Due) {
			continue
		}
		s.Status, s.Attempt, s.StartedAt, s.EndedAt, s.Due, s.Error = abi.StepRunning, s.Attempt+1, now, time.Time{}, time.Time{}, nil
		r.event("step.started", s.Call.ID, s.Attempt, string(s.Status), 0, "")
		starts = append(starts, i)
		running++
		r.dirty = true
	}
	return starts
}

func (r *run) exit() {
	for _, q := range r.replies { // applied, not written: the engine is closing
		q.reply <- ctlReply{err: ErrClosed}
	}
	r.replies = nil
	r.e.mu.Lock()
	delete(r.e.runs, r.rec.ID)
	if r.lost { // counted by the engine that runs it now
		r.e.counts[r.written]--
	}
	r.e.mu.Unlock()
	close(r.done)
}
