package host

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/onexhost/onex-host/abi"
)

// Limits on a manifest's input schemas, checked at load: a schema past them fails the
// load with ErrInvalidManifest. They bound the memory and the time the host gives a
// plugin's schemas, which it compiles once and runs on every call.
const (
	// MaxSchemaBytes is the largest input schema, in bytes, of one computation.
	MaxSchemaBytes = 64 << 10
	// MaxSchemaDepth is the deepest nesting of objects and arrays in an input schema.
	MaxSchemaDepth = 64
)

// CodeInvalidInput is the PluginError.Code of an input its computation's input schema
// refuses; the error matches ErrInvalidInput.
const CodeInvalidInput = "invalid_input"

// inputSchemas are a plugin's compiled input schemas, by computation (effect, reduction);
// a computation without a schema has no entry. Compiled once per load, read by every
// call: safe for concurrent use (a compiled jsonschema.Schema is read-only).
type inputSchemas map[string]*jsonschema.Schema

// compileInputSchemas compiles the input schema of each of m's offers. A schema that is
// too large or too deep, that is not a valid JSON Schema, or that refers ($ref) to
// anything outside itself is an error naming the computation: the host loads nothing
// from the network or the file system for a plugin.
func compileInputSchemas(m *abi.Manifest) (inputSchemas, error) {
	list := "computations"
	if m.Kind == abi.KindEffect {
		list = "effects"
	}
	out := inputSchemas{}
	for i, c := range m.Offers() {
		if len(c.InputSchema) == 0 || acceptsAll(c.InputSchema) {
			continue // nothing to check: no entry, no cost per call
		}
		s, err := compileSchema(c.Name, c.InputSchema)
		if err != nil {
			return nil, fmt.Errorf("%s[%d] %q: input_schema: %w", list, i, c.Name, err)
		}
		out[c.Name] = s
	}
	return out, nil
}

// acceptsAll reports whether raw is the empty schema {}, which every value matches.
func acceptsAll(raw []byte) bool {
	var b bytes.Buffer
	return json.Compact(&b, raw) == nil && b.String() == "{}"
}

// errNoLoading is what a schema that refers to another document gets.
var errNoLoading = errors.New("refers to a document outside the schema; only references inside it (#...) are allowed")

// refuseLoader is the schemas' URL loader: it loads nothing.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s: %w", url, errNoLoading)
}

func compileSchema(name string, raw []byte) (*jsonschema.Schema, error) {
	if len(raw) > MaxSchemaBytes {
		return nil, fmt.Errorf("%d bytes exceeds the %d-byte limit", len(raw), MaxSchemaBytes)
	}
	if d := jsonDepth(raw); d > MaxSchemaDepth {
		return nil, fmt.Errorf("nested %d deep, more than the limit of %d", d, MaxSchemaDepth)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(refuseLoader{})
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	url := "urn:onex:input:" + name
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, schemaError(err)
	}
	return s, nil
}

// schemaError shortens the compiler's errors: the URN it names is ours, not the author's.
func schemaError(err error) error {
	msg := strings.ReplaceAll(err.Error(), "urn:onex:input:", "")
	if errors.Is(err, errNoLoading) {
		return fmt.Errorf("%s: %w", msg, errNoLoading)
	}
	return errors.New(msg)
}

// jsonDepth returns the deepest nesting of objects and arrays in b (valid JSON).
func jsonDepth(b []byte) int {
	depth, deepest, inString, escaped := 0, 0, false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

var englishPrinter = message.NewPrinter(language.English)

// checkInput validates data, a computation's JSON input, against the computation's input
// schema (for a reducer, the event data of the abi.ReduceInput data holds). It returns
// nil when the plugin has no schema for it or validation is off, and otherwise a
// *PluginError matching ErrInvalidInput with Code CodeInvalidInput whose message names
// the JSON Pointer of the first value refused and why (`/items/3/qty: want integer, got
// string`). Data that is not JSON is left to the guest (the doors check it before).
func (p *Plugin) checkInput(computation string, data []byte) error {
	s := p.inputs[computation]
	if s == nil {
		return nil
	}
	what := "input"
	switch p.manifest.Kind {
	case abi.KindCompute, abi.KindEffect:
	case abi.KindReducer:
		var in struct {
			Event struct {
				Data json.RawMessage `json:"data"`
			} `json:"event"`
		}
		if json.Unmarshal(data, &in) != nil {
			return nil // the guest refuses it with its own reason
		}
		data, what = in.Event.Data, "event data"
	default:
		// An orchestrator's workflows get an envelope whose layout this check does not
		// know yet: where their input sits in it is for that kind's wiring to say.
		return nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("null")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	err = s.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return p.errorf(computation, ErrInvalidInput, "%s: %v", what, err)
	}
	leaf := firstLeaf(ve)
	pe := p.errorf(computation, ErrInvalidInput, "%s does not match the input schema: %s", what, describe(leaf))
	pe.Code = CodeInvalidInput // Status stays 0: the guest never ran
	return pe
}

// firstLeaf follows the first cause of e down to an error that has none: the most
// specific reason.
func firstLeaf(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	for len(e.Causes) > 0 {
		e = e.Causes[0]
	}
	return e
}

// describe is "<JSON Pointer>: <reason>", the pointer "/" for the whole value.
func describe(e *jsonschema.ValidationError) string {
	var ptr strings.Builder
	for _, tok := range e.InstanceLocation {
		ptr.WriteByte('/')
		ptr.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(tok))
	}
	if ptr.Len() == 0 {
		ptr.WriteByte('/')
	}
	reason := e.ErrorKind.LocalizedString(englishPrinter)
	if t, ok := e.ErrorKind.(*kind.Type); ok {
		reason = fmt.Sprintf("want %s, got %s", strings.Join(t.Want, " or "), t.Got)
	}
	return ptr.String() + ": " + reason
}
