package abi

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// KindOrchestrator is the manifest kind of an orchestrator node (SPEC.md section 10): a
// pure decision function that, given a workflow's state, says what runs next. Its
// manifest's Computations are the workflows it decides for.
const KindOrchestrator Kind = "orchestrator"

// ExportOrchestrate decides the next actions of one workflow: (ptr i32, name_len i32,
// data_len i32) -> i32 status, the contract of ExportCompute, with the workflow's name in
// place of the computation name, an OrchestrateInput JSON object as the data and an
// OrchestrateOutput JSON object as the result. An orchestrator node exports it instead of
// ExportCompute. The host may call it again with the same input (after a crash, say), so
// it must be a pure function of its input.
const ExportOrchestrate = "onex_orchestrate"

// StepKind is the ONEX node kind a workflow step calls.
type StepKind string

// The step kinds.
const (
	StepCompute     StepKind = "compute"     // Operation: the computation; Input: its data
	StepEffect      StepKind = "effect"      // Operation: the effect type; Input: operation_data
	StepReduce      StepKind = "reduce"      // Key: the key; Operation: the event type; Input: the event data
	StepOrchestrate StepKind = "orchestrate" // Operation: the child workflow; Input: its input
)

// StepStatus is where one step of a workflow stands.
type StepStatus string

// The step statuses. Completed, failed, skipped, cancelled and compensated are final.
const (
	StepScheduled   StepStatus = "scheduled"   // decided on, not started (or waiting for a retry)
	StepRunning     StepStatus = "running"     // an attempt is running
	StepCompleted   StepStatus = "completed"   // succeeded; Output holds its result
	StepFailed      StepStatus = "failed"      // every attempt failed; Error says why
	StepSkipped     StepStatus = "skipped"     // the orchestrator decided not to run it
	StepCancelled   StepStatus = "cancelled"   // the workflow ended before it finished
	StepCompensated StepStatus = "compensated" // completed, then undone by its compensation
)

// WorkflowStatus is where a workflow stands (ONEX's workflow states).
type WorkflowStatus string

// The workflow statuses. Completed, failed and cancelled are final.
const (
	WorkflowPending   WorkflowStatus = "pending"
	WorkflowRunning   WorkflowStatus = "running"
	WorkflowPaused    WorkflowStatus = "paused"
	WorkflowCompleted WorkflowStatus = "completed"
	WorkflowFailed    WorkflowStatus = "failed"
	WorkflowCancelled WorkflowStatus = "cancelled"
)

// RetryPolicy says how often a failed step is tried again. The zero value (or nil) means
// one attempt. The delay before attempt n+1 is DelayMS·2^(n-1), capped at MaxDelayMS
// when that is above 0.
type RetryPolicy struct {
	MaxAttempts int   `json:"max_attempts"`           // attempts in all, at least 1
	DelayMS     int64 `json:"delay_ms,omitempty"`     // before the second attempt
	MaxDelayMS  int64 `json:"max_delay_ms,omitempty"` // cap on the doubling delay
}

// Compensation is the effect that undoes a completed step when a failing workflow
// compensates (a saga): the effect node Node runs EffectType on OperationData.
type Compensation struct {
	Node          string          `json:"node"`
	EffectType    string          `json:"effect_type"`
	OperationData json.RawMessage `json:"operation_data,omitempty"`
}

// StepCall is one step an orchestrator decides to run.
type StepCall struct {
	ID        string          `json:"id"`   // required; unique within the workflow
	Kind      StepKind        `json:"kind"` // required
	Node      string          `json:"node"` // required; the node that runs it
	Operation string          `json:"operation,omitempty"`
	Key       string          `json:"key,omitempty"` // reduce steps: required
	Input     json.RawMessage `json:"input,omitempty"`
	// TimeoutMS bounds each attempt when above 0; the engine's default applies otherwise.
	TimeoutMS  int64         `json:"timeout_ms,omitempty"`
	Retry      *RetryPolicy  `json:"retry,omitempty"`
	Compensate *Compensation `json:"compensate,omitempty"`
}

// StepError says why a step failed. Kind is "error", "timeout" or "cancelled".
type StepError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Code    string `json:"code,omitempty"` // the node's error code, when it gave one
}

// StepState is one step as the orchestrator sees it.
type StepState struct {
	Call    StepCall        `json:"call"`
	Status  StepStatus      `json:"status"`
	Attempt int             `json:"attempt"` // attempts started so far
	Output  json.RawMessage `json:"output,omitempty"`
	Error   *StepError      `json:"error,omitempty"`
	Reason  string          `json:"reason,omitempty"` // why it was skipped
}

// OrchestrateInput is what the guest's onex_orchestrate receives.
type OrchestrateInput struct {
	Workflow   string          `json:"workflow"`    // the workflow (also the export's name argument)
	WorkflowID string          `json:"workflow_id"` // the caller-given id
	Input      json.RawMessage `json:"input"`       // the workflow's input (JSON null when none)
	// Steps lists every step decided on so far, in the order decided.
	Steps []StepState `json:"steps"`
	// Memo is what the previous decision returned as its memo; JSON null at first.
	Memo json.RawMessage `json:"memo"`
}

// SkipStep records a step the orchestrator decided not to run, and why.
type SkipStep struct {
	Call   StepCall `json:"call"`
	Reason string   `json:"reason"`
}

// Completion ends a workflow successfully with Output as its result.
type Completion struct {
	Output json.RawMessage `json:"output,omitempty"`
}

// Failure ends a workflow as failed. With Compensate, the host first runs the
// compensation of every completed step that has one, in the reverse order of completion.
type Failure struct {
	Message    string `json:"message"`
	Compensate bool   `json:"compensate,omitempty"`
}

// OrchestrateOutput is what the guest's onex_orchestrate returns: steps to start, steps
// to skip, or the end of the workflow (Complete or Fail, never both; neither with Run).
// An output that starts nothing and ends nothing while no step runs is a stall, which
// the host reports as a failure of the workflow.
type OrchestrateOutput struct {
	Run      []StepCall      `json:"run,omitempty"`
	Skip     []SkipStep      `json:"skip,omitempty"`
	Complete *Completion     `json:"complete,omitempty"`
	Fail     *Failure        `json:"fail,omitempty"`
	Memo     json.RawMessage `json:"memo,omitempty"` // handed back as the next input's Memo
}

// Check reports the first rule c breaks, naming the field under what: an id and a node
// that ValidName accepts, a known kind, a key for reduce steps, non-negative timeouts and
// delays, at least one attempt in a retry policy, and a complete compensation on effect
// steps only. Errors wrap ErrInvalidEnvelope.
func (c StepCall) Check(what string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidEnvelope, what, fmt.Sprintf(format, args...))
	}
	switch {
	case !ValidName(c.ID):
		return bad("id %q is missing or not a valid name", c.ID)
	case !ValidName(c.Node):
		return bad("node %q is missing or not a valid node name", c.Node)
	case c.TimeoutMS < 0:
		return bad("timeout_ms is negative")
	}
	switch c.Kind {
	case StepCompute, StepEffect, StepOrchestrate:
	case StepReduce:
		if c.Key == "" {
			return bad("key is missing (a reduce step names the key its event goes to)")
		}
	default:
		return bad("kind %q is not %q, %q, %q or %q", c.Kind, StepCompute, StepEffect, StepReduce, StepOrchestrate)
	}
	if r := c.Retry; r != nil && (r.MaxAttempts < 1 || r.DelayMS < 0 || r.MaxDelayMS < 0) {
		return bad("retry wants max_attempts ≥ 1 and non-negative delays")
	}
	if p := c.Compensate; p != nil {
		switch {
		case c.Kind != StepEffect:
			return bad("compensate is for effect steps only")
		case !ValidName(p.Node):
			return bad("compensate.node %q is missing or not a valid node name", p.Node)
		case p.EffectType == "":
			return bad("compensate.effect_type is missing")
		}
	}
	return nil
}

// DecodeOrchestrateInput parses one OrchestrateInput strictly: valid UTF-8, one JSON
// object, no unknown field at any level, and workflow, workflow_id, input, steps and
// memo present (input and memo may be null). Guests written in Go (the SDK) use it; the
// host builds OrchestrateInput values itself. Errors wrap ErrInvalidEnvelope.
func DecodeOrchestrateInput(b []byte) (OrchestrateInput, error) {
	const what = "orchestrate input"
	var w struct {
		Workflow   *string         `json:"workflow"`
		WorkflowID *string         `json:"workflow_id"`
		Input      json.RawMessage `json:"input"`
		Steps      *[]StepState    `json:"steps"`
		Memo       json.RawMessage `json:"memo"`
	}
	if err := decodeStrict(b, &w, what); err != nil {
		return OrchestrateInput{}, err
	}
	missing := ""
	switch {
	case w.Workflow == nil:
		missing = "workflow"
	case w.WorkflowID == nil:
		missing = "workflow_id"
	case w.Input == nil:
		missing = "input"
	case w.Steps == nil:
		missing = "steps"
	case w.Memo == nil:
		missing = "memo"
	}
	if missing != "" {
		return OrchestrateInput{}, fmt.Errorf("%w: %s: %s is missing", ErrInvalidEnvelope, what, missing)
	}
	return OrchestrateInput{Workflow: *w.Workflow, WorkflowID: *w.WorkflowID, Input: w.Input, Steps: *w.Steps, Memo: w.Memo}, nil
}

// DecodeOrchestrateOutput parses a guest's OrchestrateOutput strictly: valid UTF-8, one
// JSON object, no unknown field at any level, every step call as StepCall.Check wants
// it (named run[i] or skip[i].call), no step id twice, complete and fail not both and
// neither together with run, and a non-empty fail.message. It does not know which steps
// ran before: the host refuses a run of an id already decided on. Errors wrap
// ErrInvalidEnvelope.
func DecodeOrchestrateOutput(b []byte) (OrchestrateOutput, error) {
	const what = "orchestrate output"
	var out OrchestrateOutput
	if err := decodeStrict(b, &out, what); err != nil {
		return OrchestrateOutput{}, err
	}
	seen := make(map[string]string, len(out.Run)+len(out.Skip))
	check := func(c StepCall, where string) error {
		if err := c.Check(what + ": " + where); err != nil {
			return err
		}
		if first, dup := seen[c.ID]; dup {
			return fmt.Errorf("%w: %s: %s: step id %q is also %s", ErrInvalidEnvelope, what, where, c.ID, first)
		}
		seen[c.ID] = where
		return nil
	}
	for i, c := range out.Run {
		if err := check(c, "run["+strconv.Itoa(i)+"]"); err != nil {
			return OrchestrateOutput{}, err
		}
	}
	for i, s := range out.Skip {
		if err := check(s.Call, "skip["+strconv.Itoa(i)+"].call"); err != nil {
			return OrchestrateOutput{}, err
		}
	}
	switch {
	case out.Complete != nil && out.Fail != nil:
		return OrchestrateOutput{}, fmt.Errorf("%w: %s: complete and fail both given", ErrInvalidEnvelope, what)
	case (out.Complete != nil || out.Fail != nil) && len(out.Run) > 0:
		return OrchestrateOutput{}, fmt.Errorf("%w: %s: run given with complete or fail (a finished workflow starts nothing)", ErrInvalidEnvelope, what)
	case out.Fail != nil && out.Fail.Message == "":
		return OrchestrateOutput{}, fmt.Errorf("%w: %s: fail.message is empty", ErrInvalidEnvelope, what)
	}
	return out, nil
}

// StepOperationID returns the operation id of attempt (from 1) of step stepID in the
// workflow workflowID:
//
//	"workflow:" + escape(workflowID) + ":" + stepID + ":" + attempt
//
// with escape as IntentOperationID's (each '%' as "%25", each ':' as "%3A"). Step ids
// cannot contain ':' (see ValidName). A host that resumes a workflow after a crash runs
// the attempt in flight again with the same id, which the effect journal deduplicates;
// a retry after a failure is a new attempt with a new id. A compensation uses attempt 0.
func StepOperationID(workflowID, stepID string, attempt int) string {
	var b strings.Builder
	b.Grow(len("workflow:") + len(workflowID) + len(stepID) + 12)
	b.WriteString("workflow:")
	writeEscaped(&b, workflowID)
	b.WriteByte(':')
	b.WriteString(stepID)
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(attempt))
	return b.String()
}
