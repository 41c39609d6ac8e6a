package orchestrator

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/onexhost/onex-host/abi"
)

// Workflow is one workflow as the engine records it.
type Workflow struct {
	ID, Workflow         string
	Status               abi.WorkflowStatus
	Input                json.RawMessage
	Output               json.RawMessage // when completed
	Error                string          // when failed/cancelled
	Steps                []Step          // in decision order
	CreatedAt, UpdatedAt time.Time
	EndedAt              time.Time // zero until final
}

// Step is one step of a workflow: its state as the planner sees it, with the timings of
// its last attempt and how its compensation went.
type Step struct {
	abi.StepState                // call, status, attempt, output, error, reason
	StartedAt, EndedAt time.Time // of the last attempt
	Compensation       string    // "", "done", "failed: <msg>"
}

// Summary is one workflow in a List page.
type Summary struct {
	ID, Workflow         string
	Status               abi.WorkflowStatus
	CreatedAt, UpdatedAt time.Time
	Steps, Done          int
}

// Event is one change of a workflow or of one of its steps, as Subscribe delivers it.
type Event struct {
	WorkflowID, Workflow string
	Type                 string // "workflow.started|paused|resumed|completed|failed|cancelled", "step.started|completed|failed|retrying|skipped|compensated|compensation_failed"
	Step                 string // step id for step.* events
	Attempt              int
	Status               string        // the workflow's or step's status after the event
	Duration             time.Duration // step attempt duration for step.completed/failed
	Error                string
	At                   time.Time
}

// ListOptions select and page the workflows List returns.
type ListOptions struct {
	Status abi.WorkflowStatus // "" for every status
	After  string             // the last id of the previous page; "" from the start
	Limit  int                // default 100, max 1000
}

// ErrInvalidID is returned by Start for a workflow id that is empty, longer than 128
// bytes, not UTF-8 or holding a control character.
var ErrInvalidID = errors.New("orchestrator: invalid workflow id")
