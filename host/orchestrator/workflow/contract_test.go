package workflow_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/orchestrator"
	"github.com/onexhost/onex-host/host/orchestrator/workflow"
)

// base is a valid contract; each case of TestParse_Invalid edits it.
const base = `name: saga
failure_strategy: compensate
timeout_ms: 60000
steps:
  - id: fetch
    kind: effect
    node: httpcall
    operation: get
    input: {url: "${/input/url}"}
  - id: shape
    kind: compute
    node: core
    operation: transform
    input: "${/steps/fetch/output}"
    depends_on: [fetch]
  - id: write
    kind: effect
    node: fileops
    operation: write
    depends_on: [shape]
    compensate: {node: fileops, effect_type: delete, operation_data: {path: "${/input/path}"}}
  - id: count
    kind: reduce
    node: counters
    key: "${/input/path}"
    operation: written
    depends_on: [write]
`

func TestParse_Valid(t *testing.T) {
	c, err := workflow.Parse([]byte(base))
	require.NoError(t, err)
	assert.Equal(t, "saga", c.Name())
	assert.Equal(t, []string{"core", "counters", "fileops", "httpcall"}, c.Nodes())
	d := c.Definition()
	assert.Equal(t, "saga", d.Name)
	assert.Equal(t, time.Minute, d.Timeout)
	assert.Equal(t, orchestrator.DefaultStepTimeout, d.StepTimeout)
	assert.Equal(t, orchestrator.DefaultMaxParallel, d.MaxParallel)
	assert.NotNil(t, d.Plan)
}

// Parse-time validation: the first problem, with its field path and line.
func TestParse_Invalid(t *testing.T) {
	cases := []struct {
		name     string
		old, new string // replace old by new in base (old "" appends new)
		err      string
	}{
		{"unknown field", "    node: core\n", "    node: core\n    colour: red\n",
			`steps[1].colour: unknown field (line 13)`},
		{"wrong type", "timeout_ms: 60000", "timeout_ms: soon",
			`timeout_ms: want an integer, got "soon" (line 3)`},
		{"a mapping for a list", "depends_on: [fetch]", "depends_on: {fetch: 1}",
			`steps[1].depends_on: want a list, got a mapping (line 15)`},
		{"two documents", "", "---\nname: x\n", `a contract is one YAML document`},
		{"no name", "name: saga\n", "", `name: is required (line 1)`},
		{"bad mode", "failure_strategy: compensate", "execution_mode: fast",
			`execution_mode: "fast" is not one of sequential, parallel, batch (line 2)`},
		{"bad strategy", "failure_strategy: compensate", "failure_strategy: retry",
			`failure_strategy: "retry" is not one of fail_fast, continue, compensate (line 2)`},
		{"zero parallel", "failure_strategy: compensate", "max_parallel_steps: 0",
			`max_parallel_steps: must be at least 1 (line 2)`},
		{"zero timeout", "timeout_ms: 60000", "timeout_ms: 0", `timeout_ms: must be above 0 (line 3)`},
		{"duplicate id", "  - id: shape", "  - id: fetch",
			`steps[1].id: duplicate step id "fetch" (also steps[0]) (line 10)`},
		{"bad id", "  - id: shape", "  - id: Shape!",
			`steps[1].id: "Shape!" is missing or not a valid step id (lowercase letters, digits, _ . -) (line 10)`},
		{"bad kind", "    kind: compute", "    kind: transform",
			`steps[1].kind: "transform" is not one of compute, effect, reduce, orchestrate (line 11)`},
		{"no operation", "    operation: transform\n", "", `steps[1].operation: is required (the computation, effect type, event type or child workflow) (line 10)`},
		{"reduce without key", "    key: \"${/input/path}\"\n", "", `steps[3].key: is required for a reduce step (line 22)`},
		{"key on compute", "    operation: transform\n", "    operation: transform\n    key: k\n",
			`steps[1].key: is only for reduce steps (line 14)`},
		{"unknown dependency", "depends_on: [fetch]", "depends_on: [fetch, fecth]",
			`steps[1].depends_on[1]: unknown step "fecth" (line 15)`},
		{"dependency twice", "depends_on: [fetch]", "depends_on: [fetch, fetch]",
			`steps[1].depends_on[1]: step "fetch" is listed twice (line 15)`},
		{"compensate on compute", "    input: \"${/steps/fetch/output}\"\n",
			"    input: \"${/steps/fetch/output}\"\n    compensate: {node: core, effect_type: undo}\n",
			`steps[1].compensate: is for effect steps only (kind is "compute") (line 15)`},
		{"compensation without effect type", "effect_type: delete, ", "", `steps[2].compensate.effect_type: is required (line 21)`},
		{"step timeout above the workflow's", "    operation: transform\n", "    operation: transform\n    timeout_ms: 70000\n",
			`steps[1].timeout_ms: 70000 is above the workflow's timeout_ms 60000 (line 14)`},
		{"retry without attempts", "    operation: transform\n", "    operation: transform\n    retry: {delay_ms: 5}\n",
			`steps[1].retry.max_attempts: must be at least 1 (line 14)`},
		{"bad pointer", "${/input/url}", "${/inputs/url}",
			`steps[0].input: "/inputs/url" does not start with /input or /steps (line 9)`},
		{"reads a step it does not come after", "${/input/url}", "${/steps/shape/output}",
			`steps[0]: /steps/shape/output reads step "shape", which this step does not come after (add it to depends_on) (line 5)`},
		{"reads an unknown step", "${/steps/fetch/output}", "${/steps/fetsh/output}",
			`steps[1]: /steps/fetsh/output does not name a step (/steps/<id>/output/…) (line 10)`},
		{"bad operator", "    depends_on: [write]\n", "    depends_on: [write]\n    when: [{field: /input/n, operator: above, value: 1}]\n",
			`steps[3].when[0].operator: "above" is not one of equals, not_equals, greater_than, greater_than_or_equal, less_than, less_than_or_equal, in, not_in, exists, not_exists, matches (line 28)`},
		{"unknown field in a when mapping", "    depends_on: [write]\n", "    depends_on: [write]\n    when: {field: /input/n, operator: exists, colour: red}\n",
			`steps[3].when.colour: unknown field (line 28)`},
		{"unknown field in a when list", "    depends_on: [write]\n", "    depends_on: [write]\n    when:\n      - field: /input/n\n        operator: exists\n        colour: red\n",
			`steps[3].when[0].colour: unknown field (line 31)`},
		{"wrong type in a when list", "    depends_on: [write]\n", "    depends_on: [write]\n    when:\n      - field: [x]\n        operator: exists\n",
			// The locator names the first list on the line: when's, which starts there.
			`steps[3].when: want a string, got a list (line 29)`},
		{"if_true without when", "    depends_on: [fetch]\n", "    depends_on: [fetch]\n    if_true: [write]\n",
			`steps[1].if_true: needs a when condition on the step (line 16)`},
		{"unknown branch target", "    depends_on: [fetch]\n", "    depends_on: [fetch]\n    if_error: [retry_later]\n",
			`steps[1].if_error[0]: unknown step "retry_later" (line 16)`},
		{"cycle", "  - id: fetch\n", "  - id: fetch\n    depends_on: [count]\n",
			`steps[1].depends_on[0]: dependency cycle fetch → count → write → shape → fetch (→: depends on) (line 16)`},
		{"self dependency", "depends_on: [fetch]", "depends_on: [shape]",
			`steps[1].depends_on[0]: dependency cycle shape → shape (→: depends on) (line 15)`},
		{"cycle through a branch", "    depends_on: [write]\n", "    depends_on: [write]\n    if_success: [fetch]\n",
			`steps[1].depends_on[0]: dependency cycle fetch → count → write → shape → fetch (→: depends on) (line 15)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := base + c.new
			if c.old != "" {
				require.Contains(t, base, c.old)
				doc = strings.Replace(base, c.old, c.new, 1)
			}
			_, err := workflow.Parse([]byte(doc))
			require.ErrorIs(t, err, workflow.ErrInvalidContract)
			assert.Equal(t, "workflow: invalid contract: "+c.err, err.Error())
		})
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "saga.yaml")
	require.NoError(t, os.WriteFile(path, []byte(base), 0o600))
	c, err := workflow.Load(path)
	require.NoError(t, err)
	assert.Equal(t, "saga", c.Name())

	require.NoError(t, os.WriteFile(path, []byte("name: x\n"), 0o600))
	_, err = workflow.Load(path)
	require.ErrorIs(t, err, workflow.ErrInvalidContract)
	assert.Contains(t, err.Error(), path)

	_, err = workflow.Load(filepath.Join(t.TempDir(), "missing.yaml"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// Parse never panics, whatever the bytes.
func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte("name: x\nsteps: [{id: a, kind: compute, node: n, operation: o, depends_on: [a]}]"))
	f.Add([]byte("name: x\nsteps: [{id: a, kind: compute, node: n, operation: o, when: [{field: /input, operator: in, value: [1]}], if_true: [a]}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := workflow.Parse(b)
		if err == nil {
			assert.NotEmpty(t, c.Name())
		}
	})
}
