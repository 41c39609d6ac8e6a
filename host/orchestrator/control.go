package orchestrator

import (
	"context"
	"fmt"

	"github.com/onexhost/onex-host/abi"
)

type ctlReq struct {
	op    string // "pause", "resume", "cancel"
	reply chan ctlReply
}

type ctlReply struct {
	w   Workflow
	err error
}

// Cancel ends the workflow as cancelled: its running attempts' contexts are cancelled
// and those steps, like the ones waiting for a retry, recorded as cancelled. Then the
// compensations run if the planner's failure would run them: the planner is asked
// once more, and if it answers with Fail its Compensate decides; any other answer
// (nothing had failed or been cancelled, so it would go on) means compensate. Each
// completed step that has a compensation is undone, newest completion first. It
// blocks until the workflow is final and returns it.
// Errors: ErrNotFound, ErrFinished, ErrClosed, ctx's error (the cancellation, once
// recorded, goes on).
func (e *Engine) Cancel(ctx context.Context, id string) (Workflow, error) {
	r, w, err := e.control(ctx, id, "cancel")
	if err != nil || r == nil { // r nil: another engine ran it and answered when final
		return w, err
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return Workflow{}, ctx.Err()
	}
	return e.Get(id)
}

// Pause records the workflow as paused and returns it: no new attempt starts and the
// planner is not called until Resume; running attempts finish and are recorded. The
// workflow's timeout still runs. Pausing a paused workflow is a no-op. Errors:
// ErrNotFound, ErrFinished (also for a workflow already ending), ErrClosed, ctx's.
func (e *Engine) Pause(ctx context.Context, id string) (Workflow, error) {
	_, w, err := e.control(ctx, id, "pause")
	return w, err
}

// Resume records a paused workflow as running again and returns it; resuming a
// running workflow is a no-op. Errors as Pause's.
func (e *Engine) Resume(ctx context.Context, id string) (Workflow, error) {
	_, w, err := e.control(ctx, id, "resume")
	return w, err
}

func (e *Engine) control(ctx context.Context, id, op string) (*run, Workflow, error) {
	r, err := e.run(id)
	if err != nil {
		return nil, Workflow{}, err
	}
	if r == nil {
		rec, err := e.st.get(ctx, id)
		if err != nil {
			return nil, Workflow{}, err
		}
		if final(rec.Status) {
			return nil, Workflow{}, fmt.Errorf("%w: %q", ErrFinished, id)
		}
		w, err := e.st.s.Control(ctx, id, op) // run by another engine (a shared store)
		return nil, w, err
	}
	q := ctlReq{op: op, reply: make(chan ctlReply, 1)}
	select {
	case r.ctl <- q:
	case <-r.done:
		if e.ctx.Err() != nil {
			return nil, Workflow{}, ErrClosed
		}
		return nil, Workflow{}, fmt.Errorf("%w: %q", ErrFinished, id)
	case <-ctx.Done():
		return nil, Workflow{}, ctx.Err()
	}
	a := <-q.reply // answered by the loop after its write (or its failure)
	return r, a.w, a.err
}

// control applies a control request in the loop; the reply waits for the turn's write.
func (r *run) control(q ctlReq) {
	if r.rec.Ending != nil {
		q.reply <- ctlReply{err: fmt.Errorf("%w: %q is ending", ErrFinished, r.rec.ID)}
		return
	}
	switch {
	case q.op == "pause" && r.rec.Status == abi.WorkflowRunning:
		r.rec.Status = abi.WorkflowPaused
		r.event("workflow.paused", "", 0, string(r.rec.Status), 0, "")
	case q.op == "resume" && r.rec.Status == abi.WorkflowPaused:
		r.rec.Status = abi.WorkflowRunning
		r.event("workflow.resumed", "", 0, string(r.rec.Status), 0, "")
	case q.op == "cancel":
		r.rec.Status = abi.WorkflowRunning // an ending workflow is running until final
		r.end(abi.WorkflowCancelled, nil, "cancelled", false)
		r.rec.Ending.Ask = true
		r.rec.Ending.StepError = &abi.StepError{Kind: "cancelled", Message: "the workflow was cancelled"}
	default:
		q.reply <- ctlReply{w: r.rec.workflow()} // nothing to change
		return
	}
	r.dirty = true
	r.replies = append(r.replies, q)
}
