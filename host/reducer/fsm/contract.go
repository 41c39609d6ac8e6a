package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// contract is the YAML document as written (ONEX's FSM subcontract vocabulary).
type contract struct {
	Name           string      `yaml:"state_machine_name"`
	Version        string      `yaml:"state_machine_version"`
	Description    string      `yaml:"description"`
	InitialState   string      `yaml:"initial_state"`
	States         []stateDef  `yaml:"states"`
	TerminalStates []string    `yaml:"terminal_states"`
	ErrorStates    []string    `yaml:"error_states"`
	Transitions    []transDef  `yaml:"transitions"`
	Actions        []actionDef `yaml:"actions"`
}

type stateDef struct {
	Name         string   `yaml:"state_name"`
	Type         string   `yaml:"state_type"` // operational, terminal or error
	Description  string   `yaml:"description"`
	IsTerminal   bool     `yaml:"is_terminal"`
	EntryActions []string `yaml:"entry_actions"`
	ExitActions  []string `yaml:"exit_actions"`
}

type transDef struct {
	Name        string    `yaml:"transition_name"`
	From        string    `yaml:"from_state"`
	To          string    `yaml:"to_state"`
	Trigger     string    `yaml:"trigger"`
	Description string    `yaml:"description"`
	Conditions  []condDef `yaml:"conditions"`
	Actions     []string  `yaml:"actions"`
}

type condDef struct {
	Name     string    `yaml:"condition_name"`
	Field    string    `yaml:"field"`
	Operator string    `yaml:"operator"`
	Value    yaml.Node `yaml:"value"`
}

type actionDef struct {
	Name          string    `yaml:"action_name"`
	Node          string    `yaml:"node"`
	EffectType    string    `yaml:"effect_type"`
	OperationData yaml.Node `yaml:"operation_data"`
}

// ErrInvalidContract is returned (wrapped) by Load and LoadFile when the YAML is not a
// valid FSM contract; the message names the field and, when known, its line.
var ErrInvalidContract = errors.New("fsm: invalid contract")

// The YAML decoder reports unknown fields and type errors as "line N: message".
var (
	lineMsg    = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownMsg = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	typeErrMsg = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (\\S+)$")
)

// decodeContract decodes b strictly: one YAML document, no unknown field.
func decodeContract(b []byte) (*contract, *yaml.Node, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidContract, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var c contract
	err := dec.Decode(&c)
	if errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("%w: the document is empty", ErrInvalidContract)
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return nil, nil, fmt.Errorf("%w: %s", ErrInvalidContract, decodeMessage(&root, te.Errors[0]))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidContract, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("%w: a contract is one YAML document", ErrInvalidContract)
	}
	return &c, &root, nil
}

// decodeMessage rewords one of the decoder's messages as a validation error: the
// field's path when the node at that line can be found, the message, the line.
func decodeMessage(root *yaml.Node, msg string) string {
	m := lineMsg.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	line, _ := strconv.Atoi(m[1])
	text := m[2]
	var match func(n *yaml.Node, isKey bool) bool
	if u := unknownMsg.FindStringSubmatch(text); u != nil {
		text = "unknown field"
		match = func(n *yaml.Node, isKey bool) bool { return isKey && n.Value == u[1] }
	} else if t := typeErrMsg.FindStringSubmatch(text); t != nil {
		got := t[1]
		if t[2] != "" {
			got = fmt.Sprintf("%q", t[2])
		}
		switch got {
		case "!!seq":
			got = "a list"
		case "!!map":
			got = "a mapping"
		}
		text = fmt.Sprintf("want %s, got %s", want(t[3]), got)
		match = func(n *yaml.Node, isKey bool) bool {
			switch {
			case isKey:
				return false
			case t[1] == "!!seq":
				return n.Kind == yaml.SequenceNode
			case t[1] == "!!map":
				return n.Kind == yaml.MappingNode
			}
			return n.Kind == yaml.ScalarNode && n.Value == t[2]
		}
	}
	if match != nil {
		if path, ok := find(root, nil, line, match); ok {
			return fmt.Sprintf("%s: %s (line %d)", pathString(path), text, line)
		}
	}
	return fmt.Sprintf("line %d: %s", line, text)
}

// find returns the path of the first node under n on line that match accepts.
func find(n *yaml.Node, path []any, line int, match func(*yaml.Node, bool) bool) ([]any, bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if p, ok := find(c, path, line, match); ok {
				return p, true
			}
		}
	case yaml.MappingNode:
		if n.Line == line && match(n, false) {
			return path, true
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := append(append([]any{}, path...), k.Value)
			if k.Line == line && match(k, true) {
				return p, true
			}
			if q, ok := find(v, p, line, match); ok {
				return q, true
			}
		}
	case yaml.SequenceNode:
		if n.Line == line && match(n, false) {
			return path, true
		}
		for i, c := range n.Content {
			if q, ok := find(c, append(append([]any{}, path...), i), line, match); ok {
				return q, true
			}
		}
	default:
		if n.Line == line && match(n, false) {
			return path, true
		}
	}
	return nil, false
}

func want(goType string) string {
	switch {
	case len(goType) > 2 && goType[:2] == "[]":
		return "a list"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	}
	return "a mapping"
}

// LoadFile reads and loads the contract at path, as Load does.
func LoadFile(path string) (*Machine, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fsm: %w", err)
	}
	m, err := Load(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Load parses and validates an FSM contract (see the package comment for the format
// and the checks). Errors wrap ErrInvalidContract and name the first problem found:
// its field path (transitions[2].to_state) and, when the YAML gives it, its line.
func Load(data []byte) (*Machine, error) {
	c, root, err := decodeContract(data)
	if err != nil {
		return nil, err
	}
	v := validator{root: root}
	m := v.build(c)
	if v.err != nil {
		return nil, v.err
	}
	return m, nil
}

// validator collects the first validation error, with its line from the YAML tree.
type validator struct {
	root *yaml.Node
	err  error
}

// fail records the first error at path (a sequence of keys and indexes).
func (v *validator) fail(path []any, format string, args ...any) {
	if v.err != nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	name := pathString(path)
	if line := lineOf(v.root, path); line > 0 {
		v.err = fmt.Errorf("%w: %s: %s (line %d)", ErrInvalidContract, name, msg, line)
		return
	}
	v.err = fmt.Errorf("%w: %s: %s", ErrInvalidContract, name, msg)
}

func pathString(path []any) string {
	var b bytes.Buffer
	for _, p := range path {
		switch p := p.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", p)
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p)
		}
	}
	return b.String()
}

// lineOf returns the line of the node at path, or of its nearest ancestor present
// (0 if none).
func lineOf(root *yaml.Node, path []any) int {
	n := root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	for _, p := range path {
		if n == nil {
			break
		}
		var next *yaml.Node
		switch p := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == p {
						next = n.Content[i+1]
						line = n.Content[i].Line
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && p < len(n.Content) {
				next = n.Content[p]
				line = next.Line
			}
		}
		n = next
	}
	return line
}
