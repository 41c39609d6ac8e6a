package fsm

import (
	"errors"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/onexhost/onex-host/host/internal/yamlstrict"
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

// decodeContract decodes b strictly: one YAML document, no unknown field.
func decodeContract(b []byte) (*contract, *yaml.Node, error) {
	var c contract
	root, err := yamlstrict.Decode(b, &c)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidContract, err)
	}
	return &c, root, nil
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
	v.err = fmt.Errorf("%w: %s", ErrInvalidContract, yamlstrict.At(v.root, path, fmt.Sprintf(format, args...)))
}
