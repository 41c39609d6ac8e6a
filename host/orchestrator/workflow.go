package orchestrator

import (
	"encoding/json"
	"errors"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/onexhost/onex-host/abi"
)

// ErrInvalidID is returned by Start for a workflow id that is empty, longer than 128
// bytes, not valid UTF-8 or holds a control character.
var ErrInvalidID = errors.New("orchestrator: invalid workflow id")

// Workflow is one workflow's state as the engine has recorded it.
type Workflow struct {
	ID, Workflow string
	Status       abi.WorkflowStatus
	Input        json.RawMessage
	Output       json.RawMessage // when completed
	Error        string          // when failed or cancelled
	Steps        []Step          // in decision order
	CreatedAt    time.Time
	UpdatedAt    time.Time
	EndedAt      time.Time // zero until final
}

// Step is one step of a workflow.
type Step struct {
	abi.StepState
	StartedAt, EndedAt time.Time // of the last attempt
	// Compensation is "" (none ran), "done" or "failed: <message>".
	Compensation string
}

// Summary is one line of List.
type Summary struct {
	ID, Workflow         string
	Status               abi.WorkflowStatus
	CreatedAt, UpdatedAt time.Time
	Steps, Done          int // steps decided on; steps in a final status
}

// ListOptions selects and pages List.
type ListOptions struct {
	Status abi.WorkflowStatus // "" means every status
	After  string             // ids after this one
	Limit  int                // default 100, at most 1000
}

// Final reports whether s is a final workflow status.
func final(s abi.WorkflowStatus) bool {
	return s == abi.WorkflowCompleted || s == abi.WorkflowFailed || s == abi.WorkflowCancelled
}

func finalStep(s abi.StepStatus) bool {
	switch s {
	case abi.StepCompleted, abi.StepFailed, abi.StepSkipped, abi.StepCancelled, abi.StepCompensated:
		return true
	}
	return false
}

func validID(id string) bool {
	if id == "" || len(id) > 128 || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func (r *record) workflow() Workflow {
	w := Workflow{
		ID: r.ID, Workflow: r.Workflow, Status: r.Status, Input: r.Input, Output: r.Output,
		Error: r.Error, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, EndedAt: r.EndedAt,
		Steps: make([]Step, len(r.Steps)),
	}
	for i, s := range r.Steps {
		w.Steps[i] = Step{StepState: s.StepState, StartedAt: s.StartedAt, EndedAt: s.EndedAt, Compensation: s.Compensation}
	}
	return w
}

func (r *record) summary() Summary {
	s := Summary{ID: r.ID, Workflow: r.Workflow, Status: r.Status, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Steps: len(r.Steps)}
	for _, st := range r.Steps {
		if finalStep(st.Status) {
			s.Done++
		}
	}
	return s
}
