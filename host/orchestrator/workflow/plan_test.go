package workflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/orchestrator/workflow"
)

// result is how a simulated step ends: its output, or an error of kind errKind.
type result struct {
	output  string
	errKind string
}

// trace is what a simulated run decided: each plan's runs and skips, then the end.
type trace struct {
	decisions []string // "run a b", "skip c (reason)"
	end       abi.OrchestrateOutput
	steps     []abi.StepState
}

// simulate runs c's plans as an engine would, finishing the oldest running step after
// each plan; a step ends as results says (default: completed, output {"id": id}).
func simulate(t *testing.T, c *workflow.Contract, input string, results map[string]result) trace {
	t.Helper()
	var tr trace
	for range 1000 {
		in := abi.OrchestrateInput{Workflow: c.Name(), WorkflowID: "w1", Input: json.RawMessage(input),
			Steps: tr.steps, Memo: json.RawMessage("null")}
		out, err := c.Plan(context.Background(), in)
		require.NoError(t, err)
		again, err := c.Plan(context.Background(), in)
		require.NoError(t, err)
		require.Equal(t, out, again, "the same input gives the same output")
		b, err := json.Marshal(out)
		require.NoError(t, err)
		_, err = abi.DecodeOrchestrateOutput(b)
		require.NoError(t, err, "the decision is valid")
		for _, s := range out.Skip {
			tr.decisions = append(tr.decisions, fmt.Sprintf("skip %s (%s)", s.Call.ID, s.Reason))
			tr.steps = append(tr.steps, abi.StepState{Call: s.Call, Status: abi.StepSkipped, Reason: s.Reason})
		}
		if out.Complete != nil || out.Fail != nil {
			tr.end = out
			return tr
		}
		if len(out.Run) > 0 {
			ids := make([]string, len(out.Run))
			for i, call := range out.Run {
				ids[i] = call.ID
				tr.steps = append(tr.steps, abi.StepState{Call: call, Status: abi.StepRunning, Attempt: 1})
			}
			tr.decisions = append(tr.decisions, "run "+strings.Join(ids, " "))
		}
		finished := false
		for i := range tr.steps {
			st := &tr.steps[i]
			if st.Status != abi.StepRunning {
				continue
			}
			r, ok := results[st.Call.ID]
			if !ok {
				r = result{output: fmt.Sprintf(`{"id":%q}`, st.Call.ID)}
			}
			if r.errKind != "" {
				st.Status, st.Error = abi.StepFailed, &abi.StepError{Kind: r.errKind, Message: "boom"}
			} else {
				st.Status, st.Output = abi.StepCompleted, json.RawMessage(r.output)
			}
			finished = true
			break
		}
		require.True(t, finished || len(out.Skip) > 0, "a stall: nothing runs, nothing ends")
	}
	t.Fatal("no end after 1000 plans")
	return tr
}

func mustParse(t *testing.T, doc string) *workflow.Contract {
	t.Helper()
	c, err := workflow.Parse([]byte(doc))
	require.NoError(t, err)
	return c
}

// steps writes n compute steps; deps maps a step to its depends_on.
func steps(ids string, deps map[string]string) string {
	var b strings.Builder
	for _, id := range strings.Fields(ids) {
		fmt.Fprintf(&b, "  - {id: %s, kind: compute, node: core, operation: op", id)
		if d := deps[id]; d != "" {
			fmt.Fprintf(&b, ", depends_on: [%s]", d)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// Dependencies first, otherwise the contract's order (f e d a b c: a, then d, whose
// dependency a comes first, ...); independent steps together up to the cap (parallel),
// one at a time (sequential), or in waves (batch).
func TestContract_PlanScheduling(t *testing.T) {
	deps := map[string]string{"d": "a", "e": "d, b", "f": "e"}
	cases := []struct {
		name, header string
		want         []string
	}{
		{"parallel under the cap", "max_parallel_steps: 5",
			[]string{"run a b c", "run d", "run e", "run f"}},
		{"parallel, cap 2", "max_parallel_steps: 2",
			[]string{"run a b", "run d", "run c", "run e", "run f"}},
		{"sequential", "execution_mode: sequential",
			[]string{"run a", "run d", "run b", "run e", "run f", "run c"}},
		{"batch, cap 2", "execution_mode: batch\nmax_parallel_steps: 2",
			[]string{"run a b", "run d c", "run e", "run f"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wf := mustParse(t, "name: dag\n"+c.header+"\nsteps:\n"+steps("f e d a b c", deps))
			tr := simulate(t, wf, `{}`, nil)
			assert.Equal(t, c.want, tr.decisions)
			require.NotNil(t, tr.end.Complete)
			assert.JSONEq(t, `{"a":{"id":"a"},"b":{"id":"b"},"c":{"id":"c"},"d":{"id":"d"},"e":{"id":"e"},"f":{"id":"f"}}`,
				string(tr.end.Complete.Output))
		})
	}
}

// Running steps count against the cap.
func TestContract_PlanCapCountsRunning(t *testing.T) {
	wf := mustParse(t, "name: dag\nmax_parallel_steps: 3\nsteps:\n"+steps("a b c d e", nil))
	running := func(id string) abi.StepState {
		return abi.StepState{Call: abi.StepCall{ID: id, Kind: abi.StepCompute, Node: "core", Operation: "op"}, Status: abi.StepRunning}
	}
	out, err := wf.Plan(context.Background(), abi.OrchestrateInput{Workflow: "dag", Input: json.RawMessage(`{}`),
		Steps: []abi.StepState{running("a"), running("c")}})
	require.NoError(t, err)
	require.Len(t, out.Run, 1)
	assert.Equal(t, "b", out.Run[0].ID)
}

// Each failure strategy, with b failing: a ← b ← d, c independent.
func TestContract_PlanFailureStrategies(t *testing.T) {
	body := `
steps:
  - {id: a, kind: effect, node: files, operation: write, compensate: {node: files, effect_type: delete}}
  - {id: b, kind: compute, node: core, operation: op, depends_on: [a]}
  - {id: c, kind: compute, node: core, operation: op, depends_on: [a]}
  - {id: d, kind: compute, node: core, operation: op, depends_on: [b]}
`
	cases := []struct {
		strategy   string
		decisions  []string
		message    string
		compensate bool
	}{
		{"fail_fast", []string{"run a", "run b c"}, "workflow w: step b failed: boom", false},
		{"compensate", []string{"run a", "run b c"}, "workflow w: step b failed: boom", true},
		{"continue", []string{"run a", "run b c", "skip d (dependency b failed)"}, "workflow w: step b failed: boom", false},
	}
	for _, c := range cases {
		t.Run(c.strategy, func(t *testing.T) {
			wf := mustParse(t, "name: w\nfailure_strategy: "+c.strategy+body)
			tr := simulate(t, wf, `{}`, map[string]result{"b": {errKind: "error"}})
			assert.Equal(t, c.decisions, tr.decisions)
			require.NotNil(t, tr.end.Fail)
			assert.Equal(t, c.message, tr.end.Fail.Message)
			assert.Equal(t, c.compensate, tr.end.Fail.Compensate)
			if c.strategy == "continue" {
				assert.Equal(t, abi.StepCompleted, tr.steps[2].Status, "c ran to the end")
			}
		})
	}
}

// when conditions and each branch kind.
func TestContract_PlanBranches(t *testing.T) {
	doc := `name: w
steps:
  - id: check
    kind: compute
    node: core
    operation: check
    when: [{condition_name: big, field: /input/n, operator: greater_than, value: 10}]
    if_true: [big]
    if_false: [small]
  - {id: big, kind: compute, node: core, operation: op}
  - {id: small, kind: compute, node: core, operation: op}
  - id: call
    kind: effect
    node: http
    operation: get
    depends_on: [big]
    if_success: [ok]
    if_error: [alert]
    if_timeout: [slow]
  - {id: ok, kind: compute, node: core, operation: op}
  - {id: alert, kind: compute, node: core, operation: op}
  - {id: slow, kind: compute, node: core, operation: op}
`
	wf := mustParse(t, doc)
	cases := []struct {
		name, input string
		results     map[string]result
		decisions   []string
	}{
		{"condition true, call succeeds", `{"n":11}`, nil, []string{
			"run check",
			"skip small (branch if_false of step check not taken (check completed))",
			"run big", "run call",
			"skip alert (branch if_error of step call not taken (call completed))",
			"skip slow (branch if_timeout of step call not taken (call completed))",
			"run ok"}},
		{"condition false", `{"n":3}`, nil, []string{
			"skip check (condition failed: big)",
			"skip big (branch if_true of step check not taken (check was skipped))",
			"skip call (dependency big was skipped)",
			"skip ok (branch if_success of step call not taken (call was skipped))",
			"skip alert (branch if_error of step call not taken (call was skipped))",
			"skip slow (branch if_timeout of step call not taken (call was skipped))",
			"run small"}},
		{"condition missing", `{}`, nil, []string{
			"skip check (condition failed: big)",
			"skip big (branch if_true of step check not taken (check was skipped))",
			"skip call (dependency big was skipped)",
			"skip ok (branch if_success of step call not taken (call was skipped))",
			"skip alert (branch if_error of step call not taken (call was skipped))",
			"skip slow (branch if_timeout of step call not taken (call was skipped))",
			"run small"}},
		{"call fails", `{"n":11}`, map[string]result{"call": {errKind: "error"}}, []string{
			"run check",
			"skip small (branch if_false of step check not taken (check completed))",
			"run big", "run call",
			"skip ok (branch if_success of step call not taken (call failed))",
			"skip slow (branch if_timeout of step call not taken (call failed))",
			"run alert"}},
		{"call times out", `{"n":11}`, map[string]result{"call": {errKind: "timeout"}}, []string{
			"run check",
			"skip small (branch if_false of step check not taken (check completed))",
			"run big", "run call",
			"skip ok (branch if_success of step call not taken (call failed))",
			"run alert slow"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := simulate(t, wf, c.input, c.results)
			assert.Equal(t, c.decisions, tr.decisions)
			require.NotNil(t, tr.end.Complete, "a handled failure does not fail the workflow: %+v", tr.end.Fail)
		})
	}
}

// A failure handled by if_timeout only is not handled when it is not a timeout.
func TestContract_PlanTimeoutBranchOnly(t *testing.T) {
	wf := mustParse(t, `name: w
steps:
  - {id: a, kind: compute, node: core, operation: op, if_timeout: [b]}
  - {id: b, kind: compute, node: core, operation: op}
`)
	tr := simulate(t, wf, `{}`, map[string]result{"a": {errKind: "error"}})
	require.NotNil(t, tr.end.Fail)
	assert.Equal(t, "workflow w: step a failed: boom", tr.end.Fail.Message)

	tr = simulate(t, wf, `{}`, map[string]result{"a": {errKind: "timeout"}})
	require.NotNil(t, tr.end.Complete)
	assert.Equal(t, []string{"run a", "run b"}, tr.decisions)
}

// Templates: a whole placeholder keeps the value's type, an embedded one is text; keys
// and compensations are rendered; the output template reads any step.
func TestContract_PlanTemplates(t *testing.T) {
	wf := mustParse(t, `name: w
steps:
  - {id: a, kind: compute, node: core, operation: op}
  - id: b
    kind: effect
    node: files
    operation: write
    depends_on: [a]
    input: {n: "${/input/n}", obj: "${/steps/a/output}", text: "n=${/input/n} a=${/steps/a/output/list}", lit: [1, true]}
    compensate: {node: files, effect_type: delete, operation_data: {path: "/tmp/${/input/name}"}}
  - {id: c, kind: reduce, node: counts, operation: add, key: "k-${/input/n}", depends_on: [b]}
output: {sum: "${/steps/a/output/list/1}", status: "${/steps/b/status}"}
`)
	tr := simulate(t, wf, `{"n":7,"name":"x"}`, map[string]result{"a": {output: `{"list":[1,2]}`}})
	require.Len(t, tr.steps, 3)
	b := tr.steps[1].Call
	assert.JSONEq(t, `{"n":7,"obj":{"list":[1,2]},"text":"n=7 a=[1,2]","lit":[1,true]}`, string(b.Input))
	assert.JSONEq(t, `{"path":"/tmp/x"}`, string(b.Compensate.OperationData))
	assert.Equal(t, "k-7", tr.steps[2].Call.Key)
	require.NotNil(t, tr.end.Complete)
	assert.JSONEq(t, `{"sum":2,"status":"completed"}`, string(tr.end.Complete.Output))
}

// A template that points at nothing fails the workflow, naming the step and the
// pointer; under compensate, with compensation.
func TestContract_PlanTemplatePointsAtNothing(t *testing.T) {
	for _, strategy := range []string{"continue", "compensate"} {
		t.Run(strategy, func(t *testing.T) {
			wf := mustParse(t, `name: w
failure_strategy: `+strategy+`
steps:
  - {id: a, kind: compute, node: core, operation: op}
  - {id: b, kind: compute, node: core, operation: op, depends_on: [a], input: "${/steps/a/output/id}"}
`)
			tr := simulate(t, wf, `{}`, map[string]result{"a": {output: `{}`}})
			require.NotNil(t, tr.end.Fail)
			assert.Equal(t, "workflow w: step b: input: /steps/a/output/id points at nothing", tr.end.Fail.Message)
			assert.Equal(t, strategy == "compensate", tr.end.Fail.Compensate)
		})
	}
}

// A state that does not fit the contract is an error, not a decision.
func TestContract_PlanBadState(t *testing.T) {
	wf := mustParse(t, "name: w\nsteps:\n"+steps("a", nil))
	cases := []struct {
		name string
		in   abi.OrchestrateInput
	}{
		{"another workflow", abi.OrchestrateInput{Workflow: "v", Input: json.RawMessage(`{}`)}},
		{"unknown step", abi.OrchestrateInput{Workflow: "w", Input: json.RawMessage(`{}`),
			Steps: []abi.StepState{{Call: abi.StepCall{ID: "z"}, Status: abi.StepRunning}}}},
		{"input not JSON", abi.OrchestrateInput{Workflow: "w", Input: json.RawMessage(`{`)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := wf.Plan(context.Background(), c.in)
			require.ErrorIs(t, err, workflow.ErrState)
		})
	}
}

// Large integers pass through templates exactly, and conditions compare them as numbers.
func TestContract_PlanLargeNumbers(t *testing.T) {
	wf := mustParse(t, `name: w
steps:
  - {id: a, kind: compute, node: core, operation: op, input: {id: "${/input/id}", text: "id ${/input/id}"},
     when: {field: /input/id, operator: greater_than, value: 1000}}
`)
	tr := simulate(t, wf, `{"id":12345678901234567890}`, nil)
	require.Len(t, tr.steps, 1)
	assert.JSONEq(t, `{"id":12345678901234567890,"text":"id 12345678901234567890"}`, string(tr.steps[0].Call.Input))
	assert.Contains(t, string(tr.steps[0].Call.Input), "12345678901234567890,")
}
