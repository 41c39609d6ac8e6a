package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/jsoncond"
	"github.com/onexhost/onex-host/host/orchestrator"
)

// Contract is a parsed, validated workflow contract. Create one with Parse or Load. It
// is immutable and safe for concurrent use by multiple goroutines.
type Contract struct {
	name        string
	mode        mode
	strategy    strategy
	maxParallel int
	timeout     time.Duration
	stepTimeout time.Duration
	steps       []*step // in the contract's order
	order       []*step // dependencies first, otherwise the contract's order
	byID        map[string]*step
	output      any // the output template; nil: every completed step's output by id
	nodes       []string
}

type mode int

const (
	parallel mode = iota
	sequential
	batch
)

type strategy int

const (
	failFast strategy = iota
	continueOn
	compensate
)

type step struct {
	index    int
	call     abi.StepCall // without Input and Compensate.OperationData: rendered per plan
	input    any          // template
	compData any          // template
	when     []namedCond
	deps     []edge              // depends_on, then the branch sources
	branches map[string][]string // target id → the branch kinds of this step naming it
}

type namedCond struct {
	name string
	*jsoncond.Condition
}

// edge is a dependency, with the field that declares it.
type edge struct {
	to   *step
	path []any
}

func (s *step) dependsOn(d *step) bool {
	return slices.ContainsFunc(s.deps, func(e edge) bool { return e.to == d })
}

// ErrState is returned (wrapped) by Plan when the workflow state does not fit the
// contract: another workflow's name, a step the contract does not have, JSON that does
// not parse. The engine fails the workflow (orchestrator.ErrPlan).
var ErrState = errors.New("workflow: state does not fit the contract")

// Name returns the contract's name: the workflow's name.
func (c *Contract) Name() string { return c.name }

// Nodes returns every node the steps and their compensations name, sorted, once each.
// The slice is a copy.
func (c *Contract) Nodes() []string { return slices.Clone(c.nodes) }

// Definition returns the contract as an engine definition: Plan, the timeouts and
// max_parallel_steps.
func (c *Contract) Definition() orchestrator.Definition {
	return orchestrator.Definition{Name: c.name, Plan: c.Plan, Timeout: c.timeout,
		StepTimeout: c.stepTimeout, MaxParallel: c.maxParallel}
}

// fate is where a step stands in one plan.
type fate int

const (
	pending     fate = iota // a dependency is not final
	running                 // scheduled or running
	ready                   // to run now (or as soon as a slot frees)
	completed               // completed (or compensated)
	failed                  // failed (or cancelled)
	skippedWhen             // skipped: its when condition did not hold
	skipped                 // skipped for another reason
)

func (f fate) final() bool { return f >= completed }

// Plan decides the next actions of a workflow (see the package comment). It is pure: the
// same input gives the same output. Errors wrap ErrState.
func (c *Contract) Plan(_ context.Context, in abi.OrchestrateInput) (abi.OrchestrateOutput, error) {
	if in.Workflow != c.name {
		return abi.OrchestrateOutput{}, fmt.Errorf("%w: workflow %q given to contract %q", ErrState, in.Workflow, c.name)
	}
	doc, recorded, err := c.document(in)
	if err != nil {
		return abi.OrchestrateOutput{}, err
	}
	fates := make(map[*step]fate, len(c.steps))
	reasons := map[*step]string{}
	for _, s := range c.order {
		f, reason := c.decide(s, fates, doc)
		if st, ok := recorded[s.call.ID]; ok {
			switch st.Status {
			case abi.StepScheduled, abi.StepRunning:
				f = running
			case abi.StepCompleted, abi.StepCompensated:
				f = completed
			case abi.StepFailed, abi.StepCancelled:
				f = failed
			case abi.StepSkipped:
				if f != skippedWhen {
					f = skipped
				}
			default:
				return abi.OrchestrateOutput{}, fmt.Errorf("%w: step %q has status %q", ErrState, s.call.ID, st.Status)
			}
		}
		fates[s] = f
		reasons[s] = reason
	}

	var out abi.OrchestrateOutput
	var unhandled []string
	nRunning := 0
	for _, s := range c.order {
		st, isRecorded := recorded[s.call.ID]
		switch f := fates[s]; {
		case f == running:
			nRunning++
		case f == failed && !handled(s, st):
			msg := "cancelled"
			if st.Error != nil {
				msg = st.Error.Message
			}
			unhandled = append(unhandled, fmt.Sprintf("step %s failed: %s", s.call.ID, msg))
		case (f == skipped || f == skippedWhen) && !isRecorded:
			out.Skip = append(out.Skip, abi.SkipStep{Call: s.call, Reason: reasons[s]})
		}
	}
	if len(unhandled) > 0 && c.strategy != continueOn {
		return c.fail(strings.Join(unhandled, "; ")), nil
	}

	slots := c.maxParallel - nRunning
	switch {
	case c.mode == sequential:
		slots = 1 - nRunning
	case c.mode == batch && nRunning > 0:
		slots = 0
	}
	allFinal := true
	for _, s := range c.order {
		f := fates[s]
		allFinal = allFinal && f.final()
		if f != ready || slots <= 0 {
			continue
		}
		if _, ok := recorded[s.call.ID]; ok {
			continue
		}
		call, err := c.render(s, doc)
		if err != nil {
			return c.fail(err.Error()), nil
		}
		if err := call.Check("workflow " + c.name); err != nil {
			return c.fail(err.Error()), nil
		}
		out.Run = append(out.Run, call)
		slots--
	}
	if !allFinal {
		return out, nil
	}
	if len(unhandled) > 0 {
		fail := c.fail(strings.Join(unhandled, "; "))
		fail.Skip = out.Skip
		return fail, nil
	}
	output, err := c.result(doc, fates)
	if err != nil {
		fail := c.fail(err.Error())
		fail.Skip = out.Skip
		return fail, nil
	}
	out.Complete = &abi.Completion{Output: output}
	return out, nil
}

// fail ends the workflow, compensating when the strategy says so.
func (c *Contract) fail(msg string) abi.OrchestrateOutput {
	return abi.OrchestrateOutput{Fail: &abi.Failure{Message: "workflow " + c.name + ": " + msg, Compensate: c.strategy == compensate}}
}

// handled reports whether a failed step's failure is taken care of by its branches: an
// if_error target, or an if_timeout target for a timeout.
func handled(s *step, st abi.StepState) bool {
	for _, kinds := range s.branches {
		for _, k := range kinds {
			if k == "if_error" || (k == "if_timeout" && st.Error != nil && st.Error.Kind == "timeout") {
				return true
			}
		}
	}
	return false
}

// taken returns the branch kinds a final step's fate takes.
func taken(f fate, st abi.StepState) []string {
	switch f {
	case completed:
		return []string{"if_true", "if_success"} // if_true: the condition held and it completed
	case failed:
		if st.Error != nil && st.Error.Kind == "timeout" {
			return []string{"if_error", "if_timeout"}
		}
		return []string{"if_error"}
	case skippedWhen:
		return []string{"if_false"}
	}
	return nil
}

// decide says what the dependencies and conditions make of step s, were it not
// recorded yet.
func (c *Contract) decide(s *step, fates map[*step]fate, doc map[string]any) (fate, string) {
	steps := doc["steps"].(map[string]any)
	waiting := false
	for _, e := range s.deps {
		d := e.to
		f := fates[d]
		if !f.final() {
			waiting = true
			continue
		}
		if kinds := d.branches[s.call.ID]; kinds != nil {
			st := stateOf(steps, d.call.ID)
			if !slices.ContainsFunc(kinds, func(k string) bool { return slices.Contains(taken(f, st), k) }) {
				return skipped, fmt.Sprintf("branch %s of step %s not taken (%s %s)", strings.Join(kinds, ", "), d.call.ID, d.call.ID, describe(f))
			}
			continue
		}
		if f != completed {
			return skipped, fmt.Sprintf("dependency %s %s", d.call.ID, describe(f))
		}
	}
	if waiting {
		return pending, ""
	}
	var failedConds []string
	for _, cond := range s.when {
		if !cond.Holds(doc) {
			failedConds = append(failedConds, cond.name)
		}
	}
	if len(failedConds) > 0 {
		return skippedWhen, "condition failed: " + strings.Join(failedConds, ", ")
	}
	return ready, ""
}

func describe(f fate) string {
	switch f {
	case completed:
		return "completed"
	case failed:
		return "failed"
	}
	return "was skipped"
}

func stateOf(steps map[string]any, id string) abi.StepState {
	var st abi.StepState
	if m, ok := steps[id].(map[string]any); ok {
		if e, ok := m["error"].(map[string]any); ok {
			kind, _ := e["kind"].(string)
			st.Error = &abi.StepError{Kind: kind}
		}
	}
	return st
}

// document builds what templates and conditions read: {input, steps: {id: {status,
// output, error}}}, and the recorded steps by id.
func (c *Contract) document(in abi.OrchestrateInput) (map[string]any, map[string]abi.StepState, error) {
	input, err := decode(in.Input)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: input: %v", ErrState, err)
	}
	steps := map[string]any{}
	recorded := make(map[string]abi.StepState, len(in.Steps))
	for _, st := range in.Steps {
		id := st.Call.ID
		if c.byID[id] == nil {
			return nil, nil, fmt.Errorf("%w: step %q is not in the contract", ErrState, id)
		}
		if _, dup := recorded[id]; dup {
			return nil, nil, fmt.Errorf("%w: step %q is listed twice", ErrState, id)
		}
		recorded[id] = st
		m := map[string]any{"status": string(st.Status)}
		if len(st.Output) > 0 {
			o, err := decode(st.Output)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: step %q: output: %v", ErrState, id, err)
			}
			m["output"] = o
		}
		if e := st.Error; e != nil {
			em := map[string]any{"kind": e.Kind, "message": e.Message}
			if e.Code != "" {
				em["code"] = e.Code
			}
			m["error"] = em
		}
		steps[id] = m
	}
	return map[string]any{"input": input, "steps": steps}, recorded, nil
}

func decode(b json.RawMessage) (any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	// Numbers stay json.Number, so a large integer passes through templates exactly.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

// render fills s's call: its input, its key and its compensation's operation_data.
func (c *Contract) render(s *step, doc map[string]any) (abi.StepCall, error) {
	call := s.call
	bad := func(field string, err error) error { return fmt.Errorf("step %s: %s: %v", s.call.ID, field, err) }
	if s.input != nil {
		v, err := jsoncond.Render(s.input, doc)
		if err != nil {
			return call, bad("input", err)
		}
		if call.Input, err = json.Marshal(v); err != nil {
			return call, bad("input", err)
		}
	}
	if call.Key != "" {
		v, err := jsoncond.Render(call.Key, doc)
		if err != nil {
			return call, bad("key", err)
		}
		if str, ok := v.(string); ok {
			call.Key = str
		} else {
			b, _ := json.Marshal(v)
			call.Key = string(b)
		}
	}
	if call.Compensate != nil {
		comp := *call.Compensate
		if s.compData != nil {
			v, err := jsoncond.Render(s.compData, doc)
			if err != nil {
				return call, bad("compensate.operation_data", err)
			}
			if comp.OperationData, err = json.Marshal(v); err != nil {
				return call, bad("compensate.operation_data", err)
			}
		}
		call.Compensate = &comp
	}
	return call, nil
}

// result renders the workflow's output; without an output template, every completed
// step's output by step id.
func (c *Contract) result(doc map[string]any, fates map[*step]fate) (json.RawMessage, error) {
	var v any
	if c.output != nil {
		var err error
		if v, err = jsoncond.Render(c.output, doc); err != nil {
			return nil, fmt.Errorf("output: %v", err)
		}
	} else {
		all := map[string]any{}
		steps := doc["steps"].(map[string]any)
		for _, s := range c.steps {
			if fates[s] == completed {
				all[s.call.ID], _ = steps[s.call.ID].(map[string]any)["output"]
			}
		}
		v = all
	}
	return json.Marshal(v)
}
