package workflow

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/jsoncond"
	"github.com/onexhost/onex-host/host/internal/yamlstrict"
	"github.com/onexhost/onex-host/host/orchestrator"
)

// doc is the YAML document as written.
type doc struct {
	Name            string    `yaml:"name"`
	Version         string    `yaml:"version"`
	Description     string    `yaml:"description"`
	ExecutionMode   string    `yaml:"execution_mode"`
	MaxParallel     *int      `yaml:"max_parallel_steps"`
	TimeoutMS       *int64    `yaml:"timeout_ms"`
	StepTimeoutMS   *int64    `yaml:"step_timeout_ms"`
	FailureStrategy string    `yaml:"failure_strategy"`
	Steps           []stepDef `yaml:"steps"`
	Output          yaml.Node `yaml:"output"`
}

type stepDef struct {
	ID         string     `yaml:"id"`
	Kind       string     `yaml:"kind"`
	Node       string     `yaml:"node"`
	Operation  string     `yaml:"operation"`
	Key        string     `yaml:"key"`
	Input      yaml.Node  `yaml:"input"`
	DependsOn  []string   `yaml:"depends_on"`
	When       conditions `yaml:"when"`
	IfTrue     []string   `yaml:"if_true"`
	IfFalse    []string   `yaml:"if_false"`
	IfSuccess  []string   `yaml:"if_success"`
	IfError    []string   `yaml:"if_error"`
	IfTimeout  []string   `yaml:"if_timeout"`
	TimeoutMS  *int64     `yaml:"timeout_ms"`
	Retry      *retryDef  `yaml:"retry"`
	Compensate *compDef   `yaml:"compensate"`
}

// conditions is a list of conditions, or one condition written as a mapping.
type conditions []condDef

// UnmarshalYAML takes the decoder's own unmarshal function (yaml's older interface), so
// that unknown fields and wrong types inside stay errors with their lines.
func (c *conditions) UnmarshalYAML(unmarshal func(any) error) error {
	var raw any
	if err := unmarshal(&raw); err != nil {
		return err
	}
	if _, isMap := raw.(map[string]any); isMap {
		var one condDef
		if err := unmarshal(&one); err != nil {
			return err
		}
		*c = conditions{one}
		return nil
	}
	var list []condDef
	if err := unmarshal(&list); err != nil {
		return err
	}
	*c = list
	return nil
}

type condDef struct {
	Name     string    `yaml:"condition_name"`
	Field    string    `yaml:"field"`
	Operator string    `yaml:"operator"`
	Value    yaml.Node `yaml:"value"`
}

type retryDef struct {
	MaxAttempts int   `yaml:"max_attempts"`
	DelayMS     int64 `yaml:"delay_ms"`
	MaxDelayMS  int64 `yaml:"max_delay_ms"`
}

type compDef struct {
	Node          string    `yaml:"node"`
	EffectType    string    `yaml:"effect_type"`
	OperationData yaml.Node `yaml:"operation_data"`
}

// ErrInvalidContract is returned (wrapped) by Parse and Load when the YAML is not a valid
// workflow contract; the message names the field and, when known, its line.
var ErrInvalidContract = errors.New("workflow: invalid contract")

// The roots a pointer may start with.
var roots = []string{"input", "steps"}

// The branch kinds, in the order they are listed in messages.
var branchKinds = []string{"if_true", "if_false", "if_success", "if_error", "if_timeout"}

// Load reads and parses the contract at path, as Parse does.
func Load(path string) (*Contract, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("workflow: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse parses and validates a workflow contract (see the package comment for the
// format and the checks). Errors wrap ErrInvalidContract and name the first problem
// found: its field path (steps[2].depends_on[0]) and, when the YAML gives it, its line.
func Parse(b []byte) (*Contract, error) {
	var d doc
	root, err := yamlstrict.Decode(b, &d)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidContract, err)
	}
	v := validator{root: root}
	c := v.build(&d)
	if v.err != nil {
		return nil, v.err
	}
	return c, nil
}

// validator keeps the first validation error, with its line from the YAML tree.
type validator struct {
	root *yaml.Node
	err  error
}

func (v *validator) fail(path []any, format string, args ...any) {
	if v.err == nil {
		v.err = fmt.Errorf("%w: %s", ErrInvalidContract, yamlstrict.At(v.root, path, fmt.Sprintf(format, args...)))
	}
}

func at(p []any, more ...any) []any { return append(append([]any{}, p...), more...) }

// positive reads an optional positive setting, def when absent.
func (v *validator) positive(field string, x *int64, def int64) int64 {
	if x == nil {
		return def
	}
	if *x <= 0 {
		v.fail([]any{field}, "must be above 0")
	}
	return *x
}

func (v *validator) template(p []any, n *yaml.Node) (any, []jsoncond.Pointer) {
	if n.Kind == 0 {
		return nil, nil
	}
	t, err := jsoncond.YAMLValue(n)
	if err != nil {
		v.fail(p, "%v", err)
		return nil, nil
	}
	ptrs, err := jsoncond.Placeholders(t, roots)
	if err != nil {
		v.fail(p, "%v", err)
	}
	return t, ptrs
}

func (v *validator) build(d *doc) *Contract {
	c := &Contract{name: d.Name, byID: map[string]*step{}}
	if d.Name == "" {
		v.fail([]any{"name"}, "is required")
	} else if !abi.ValidName(d.Name) {
		v.fail([]any{"name"}, "%q is not a valid name (lowercase letters, digits, _ . -)", d.Name)
	}
	switch d.ExecutionMode {
	case "", "parallel":
		c.mode = parallel
	case "sequential":
		c.mode = sequential
	case "batch":
		c.mode = batch
	default:
		v.fail([]any{"execution_mode"}, "%q is not one of sequential, parallel, batch", d.ExecutionMode)
	}
	switch d.FailureStrategy {
	case "", "fail_fast":
		c.strategy = failFast
	case "continue":
		c.strategy = continueOn
	case "compensate":
		c.strategy = compensate
	default:
		v.fail([]any{"failure_strategy"}, "%q is not one of fail_fast, continue, compensate", d.FailureStrategy)
	}
	c.maxParallel = orchestrator.DefaultMaxParallel
	if d.MaxParallel != nil {
		if *d.MaxParallel < 1 {
			v.fail([]any{"max_parallel_steps"}, "must be at least 1")
		}
		c.maxParallel = *d.MaxParallel
	}
	c.timeout = time.Duration(v.positive("timeout_ms", d.TimeoutMS, orchestrator.DefaultWorkflowTimeout.Milliseconds())) * time.Millisecond
	c.stepTimeout = time.Duration(v.positive("step_timeout_ms", d.StepTimeoutMS, orchestrator.DefaultStepTimeout.Milliseconds())) * time.Millisecond
	if len(d.Steps) == 0 {
		v.fail([]any{"steps"}, "at least one step is required")
	}

	// Steps, each on its own.
	refs := map[*step][]jsoncond.Pointer{}
	for i, sd := range d.Steps {
		p := []any{"steps", i}
		s := &step{index: i, branches: map[string][]string{}}
		s.call = abi.StepCall{ID: sd.ID, Kind: abi.StepKind(sd.Kind), Node: sd.Node, Operation: sd.Operation, Key: sd.Key}
		switch {
		case !abi.ValidName(sd.ID):
			v.fail(at(p, "id"), "%q is missing or not a valid step id (lowercase letters, digits, _ . -)", sd.ID)
		case c.byID[sd.ID] != nil:
			v.fail(at(p, "id"), "duplicate step id %q (also steps[%d])", sd.ID, c.byID[sd.ID].index)
		}
		switch s.call.Kind {
		case abi.StepCompute, abi.StepEffect, abi.StepReduce, abi.StepOrchestrate:
		default:
			v.fail(at(p, "kind"), "%q is not one of compute, effect, reduce, orchestrate", sd.Kind)
		}
		switch {
		case !abi.ValidName(sd.Node):
			v.fail(at(p, "node"), "%q is missing or not a valid node name", sd.Node)
		case sd.Operation == "":
			v.fail(at(p, "operation"), "is required (the computation, effect type, event type or child workflow)")
		case s.call.Kind == abi.StepReduce && sd.Key == "":
			v.fail(at(p, "key"), "is required for a reduce step")
		case s.call.Kind != abi.StepReduce && sd.Key != "":
			v.fail(at(p, "key"), "is only for reduce steps")
		}
		if ptrs, err := jsoncond.Placeholders(sd.Key, roots); err != nil {
			v.fail(at(p, "key"), "%v", err)
		} else {
			refs[s] = append(refs[s], ptrs...)
		}
		var ptrs []jsoncond.Pointer
		s.input, ptrs = v.template(at(p, "input"), &sd.Input)
		refs[s] = append(refs[s], ptrs...)
		for j, cd := range sd.When {
			cond, field, msg := jsoncond.Compile(cd.Field, cd.Operator, &cd.Value, roots)
			if msg != "" {
				v.fail(at(p, "when", j, field), "%s", msg)
				continue
			}
			name := cd.Name
			if name == "" {
				name = fmt.Sprintf("%s %s", cd.Field, cd.Operator)
			}
			s.when = append(s.when, namedCond{name, cond})
			refs[s] = append(refs[s], cond.Field)
		}
		if sd.TimeoutMS != nil {
			if *sd.TimeoutMS <= 0 {
				v.fail(at(p, "timeout_ms"), "must be above 0")
			} else if *sd.TimeoutMS > c.timeout.Milliseconds() {
				v.fail(at(p, "timeout_ms"), "%d is above the workflow's timeout_ms %d", *sd.TimeoutMS, c.timeout.Milliseconds())
			}
			s.call.TimeoutMS = *sd.TimeoutMS
		}
		if r := sd.Retry; r != nil {
			switch {
			case r.MaxAttempts < 1:
				v.fail(at(p, "retry", "max_attempts"), "must be at least 1")
			case r.DelayMS < 0:
				v.fail(at(p, "retry", "delay_ms"), "must not be negative")
			case r.MaxDelayMS < 0:
				v.fail(at(p, "retry", "max_delay_ms"), "must not be negative")
			case r.MaxDelayMS > 0 && r.MaxDelayMS < r.DelayMS:
				v.fail(at(p, "retry", "max_delay_ms"), "%d is below delay_ms %d", r.MaxDelayMS, r.DelayMS)
			}
			s.call.Retry = &abi.RetryPolicy{MaxAttempts: r.MaxAttempts, DelayMS: r.DelayMS, MaxDelayMS: r.MaxDelayMS}
		}
		if cp := sd.Compensate; cp != nil {
			switch {
			case s.call.Kind != abi.StepEffect:
				v.fail(at(p, "compensate"), "is for effect steps only (kind is %q)", sd.Kind)
			case !abi.ValidName(cp.Node):
				v.fail(at(p, "compensate", "node"), "%q is missing or not a valid node name", cp.Node)
			case cp.EffectType == "":
				v.fail(at(p, "compensate", "effect_type"), "is required")
			}
			s.call.Compensate = &abi.Compensation{Node: cp.Node, EffectType: cp.EffectType}
			s.compData, ptrs = v.template(at(p, "compensate", "operation_data"), &cp.OperationData)
			refs[s] = append(refs[s], ptrs...)
		}
		if v.err == nil {
			if err := s.call.Check("steps[" + fmt.Sprint(i) + "]"); err != nil {
				v.fail(p, "%v", err) // a rule the checks above missed
			}
		}
		if c.byID[sd.ID] == nil {
			c.byID[sd.ID] = s
		}
		c.steps = append(c.steps, s)
	}
	if v.err != nil {
		return nil
	}

	// Edges: depends_on, and a branch target depends on its source.
	for i, sd := range d.Steps {
		s := c.steps[i]
		for j, id := range sd.DependsOn {
			p := []any{"steps", i, "depends_on", j}
			dep := c.byID[id]
			switch {
			case dep == nil:
				v.fail(p, "unknown step %q", id)
			case s.dependsOn(dep):
				v.fail(p, "step %q is listed twice", id)
			default:
				s.deps = append(s.deps, edge{dep, p})
			}
		}
		lists := [][]string{sd.IfTrue, sd.IfFalse, sd.IfSuccess, sd.IfError, sd.IfTimeout}
		for k, list := range lists {
			kind := branchKinds[k]
			if len(list) > 0 && (kind == "if_true" || kind == "if_false") && len(sd.When) == 0 {
				v.fail([]any{"steps", i, kind}, "needs a when condition on the step")
			}
			for j, id := range list {
				p := []any{"steps", i, kind, j}
				t := c.byID[id]
				switch {
				case t == nil:
					v.fail(p, "unknown step %q", id)
				case slices.Contains(s.branches[id], kind):
					v.fail(p, "step %q is listed twice", id)
				default:
					s.branches[id] = append(s.branches[id], kind)
					if !t.dependsOn(s) {
						t.deps = append(t.deps, edge{s, p})
					}
				}
			}
		}
	}
	if v.err != nil {
		return nil
	}
	v.cycles(c)
	if v.err != nil {
		return nil
	}
	c.order = topological(c.steps)

	// A step's templates and conditions read the input and the steps it comes after.
	for _, s := range c.steps {
		anc := ancestors(s)
		for _, ptr := range refs[s] {
			if msg := stepRef(ptr, c, func(id string) bool { return anc[id] }); msg != "" {
				v.fail([]any{"steps", s.index}, "%s", msg)
			}
		}
	}
	var ptrs []jsoncond.Pointer
	c.output, ptrs = v.template([]any{"output"}, &d.Output)
	for _, ptr := range ptrs {
		if msg := stepRef(ptr, c, func(string) bool { return true }); msg != "" {
			v.fail([]any{"output"}, "%s", msg)
		}
	}
	if v.err != nil {
		return nil
	}
	seen := map[string]bool{}
	for _, s := range c.steps {
		for _, n := range []string{s.call.Node, compNode(s)} {
			if n != "" && !seen[n] {
				seen[n] = true
				c.nodes = append(c.nodes, n)
			}
		}
	}
	slices.Sort(c.nodes)
	return c
}

func compNode(s *step) string {
	if s.call.Compensate == nil {
		return ""
	}
	return s.call.Compensate.Node
}

// stepRef checks a pointer under /steps: a known step that ok accepts, then status,
// output or error. It returns what is wrong, or "".
func stepRef(p jsoncond.Pointer, c *Contract, ok func(string) bool) string {
	if p[0] != "steps" {
		return ""
	}
	if len(p) < 2 || c.byID[p[1]] == nil {
		return fmt.Sprintf("%s does not name a step (/steps/<id>/output/…)", p)
	}
	if !ok(p[1]) {
		return fmt.Sprintf("%s reads step %q, which this step does not come after (add it to depends_on)", p, p[1])
	}
	if len(p) > 2 && p[2] != "status" && p[2] != "output" && p[2] != "error" {
		return fmt.Sprintf("%s: a step has status, output and error", p)
	}
	return ""
}

// cycles refuses a dependency cycle, naming it: "a → b → c → a" (→: depends on).
func (v *validator) cycles(c *Contract) {
	const (
		unseen = iota
		onStack
		done
	)
	state := make([]int, len(c.steps))
	var stack []*step
	var visit func(s *step) bool
	visit = func(s *step) bool {
		state[s.index] = onStack
		stack = append(stack, s)
		for _, e := range s.deps {
			switch state[e.to.index] {
			case onStack:
				var names []string
				for i := slices.Index(stack, e.to); i < len(stack); i++ {
					names = append(names, stack[i].call.ID)
				}
				names = append(names, e.to.call.ID)
				v.fail(e.path, "dependency cycle %s (→: depends on)", strings.Join(names, " → "))
				return true
			case unseen:
				if visit(e.to) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[s.index] = done
		return false
	}
	for _, s := range c.steps {
		if state[s.index] == unseen && visit(s) {
			return
		}
	}
}

// topological orders steps so that each comes after its dependencies, and otherwise
// in the contract's order.
func topological(steps []*step) []*step {
	placed := make([]bool, len(steps))
	out := make([]*step, 0, len(steps))
	for len(out) < len(steps) {
		for _, s := range steps {
			if placed[s.index] {
				continue
			}
			ready := true
			for _, e := range s.deps {
				ready = ready && placed[e.to.index]
			}
			if ready {
				placed[s.index] = true
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// ancestors returns the ids of every step s comes after.
func ancestors(s *step) map[string]bool {
	out := map[string]bool{}
	var walk func(*step)
	walk = func(s *step) {
		for _, e := range s.deps {
			if !out[e.to.call.ID] {
				out[e.to.call.ID] = true
				walk(e.to)
			}
		}
	}
	walk(s)
	return out
}
