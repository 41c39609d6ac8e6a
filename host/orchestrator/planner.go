package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/onexhost/onex-host/abi"
)

// Planner decides a workflow's next actions from its state: a YAML workflow contract
// (package workflow) or an orchestrator plugin's onex_orchestrate export. It must be
// pure — the engine calls it again with the same input after a crash — and safe for
// concurrent use (different workflows are decided on in parallel).
type Planner func(ctx context.Context, in abi.OrchestrateInput) (abi.OrchestrateOutput, error)

// Definition is one workflow the engine can start, by name.
type Definition struct {
	// Name is what Start is given; it is also OrchestrateInput.Workflow.
	Name string
	// Plan decides the next steps.
	Plan Planner
	// Timeout bounds the whole workflow from its start (paused time included); 0 means
	// DefaultWorkflowTimeout. When it passes, running steps are cancelled and the
	// workflow fails (compensating if its planner asked for compensation on failure).
	Timeout time.Duration
	// StepTimeout bounds each attempt of a step whose call has no timeout_ms; 0 means
	// DefaultStepTimeout.
	StepTimeout time.Duration
	// MaxParallel caps the steps of one workflow running at once; 0 means
	// DefaultMaxParallel.
	MaxParallel int
}

// The ONEX defaults.
const (
	DefaultWorkflowTimeout = 300 * time.Second // ONEX's global timeout, 300,000 ms
	DefaultStepTimeout     = 30 * time.Second  // ONEX's per-step timeout, 30,000 ms
	DefaultMaxParallel     = 5                 // ONEX's max_parallel_steps
)

// StepRequest is one attempt of one step, as the engine hands it to a Runner.
type StepRequest struct {
	WorkflowID string
	Workflow   string
	Call       abi.StepCall
	// Attempt counts from 1; a compensation is attempt 0.
	Attempt int
	// OperationID is abi.StepOperationID(WorkflowID, Call.ID, Attempt): the same for an
	// attempt run again after a crash, so an effect node that deduplicates by operation
	// id applies it once.
	OperationID string
}

// Runner runs step attempts on the nodes that serve them: local nodes, or any host of a
// cluster. RunStep returns the step's output (a compute result, an effect's output, a
// reducer's new state and sequence, a child workflow's output). An error wrapping
// ErrPermanent is not retried; any other error is retried as the step's policy allows.
// A Runner must be safe for concurrent use.
type Runner interface {
	RunStep(ctx context.Context, req StepRequest) (json.RawMessage, error)
}

// RunnerFunc adapts a function to a Runner.
type RunnerFunc func(ctx context.Context, req StepRequest) (json.RawMessage, error)

// RunStep calls f.
func (f RunnerFunc) RunStep(ctx context.Context, req StepRequest) (json.RawMessage, error) {
	return f(ctx, req)
}

var (
	// ErrPermanent is matched by a Runner's error that trying again cannot fix (a
	// refused input, an unknown node): the step fails without further attempts.
	ErrPermanent = errors.New("orchestrator: permanent step failure")
	// ErrNotFound is returned for a workflow id the engine does not know.
	ErrNotFound = errors.New("orchestrator: no such workflow")
	// ErrConflict is returned by Start for a workflow id already used with another
	// workflow name or another input.
	ErrConflict = errors.New("orchestrator: workflow id already used differently")
	// ErrUnknownWorkflow is returned by Start for a name no Definition has.
	ErrUnknownWorkflow = errors.New("orchestrator: unknown workflow")
	// ErrFinished is returned by Cancel, Pause and Resume for a workflow that has ended.
	ErrFinished = errors.New("orchestrator: workflow has finished")
	// ErrClosed is returned by every Engine method after Close.
	ErrClosed = errors.New("orchestrator: engine is closed")
	// ErrLost is returned by Store.Put when the record changed since its writer read it
	// or the writer may no longer write it (another host took the workflow over): the
	// workflow's loop here stops without writing, and its new owner goes on.
	ErrLost = errors.New("orchestrator: workflow record taken over")
	// ErrPlan is matched by the error a workflow fails with when its planner failed or
	// returned an invalid decision.
	ErrPlan = errors.New("orchestrator: planner failed")
)

// Permanent marks err, returned by a Runner, as not retryable (errors.Is(_,
// ErrPermanent)). Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() []error { return []error{e.err, ErrPermanent} }

// WithCode gives err, returned by a Runner, the code its step's error records
// (abi.StepError.Code): the node's own error code ("not_found", "card_declined"), which
// a workflow contract reads at /steps/<id>/error/code. It keeps err's message and what
// errors.Is matches (Permanent included, on either side). WithCode(nil, c) is nil; an
// empty code returns err as it is.
func WithCode(err error, code string) error {
	if err == nil || code == "" {
		return err
	}
	return &codedError{err: err, code: code}
}

type codedError struct {
	err  error
	code string
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// codeOf is the code WithCode gave err (the outermost, through any wrapping), or "".
func codeOf(err error) string {
	var c *codedError
	if errors.As(err, &c) {
		return c.code
	}
	return ""
}
