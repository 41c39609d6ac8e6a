// Package jsoncond evaluates the small expression forms the YAML contracts share (the
// FSM contracts of host/reducer/fsm and the workflow contracts of
// host/orchestrator/workflow): JSON pointers (RFC 6901) into one JSON document, the
// ONEX condition operators, and ${/pointer} templates. There is no expression language:
// a pointer, an operator, a literal value.
//
// Documents are JSON values as encoding/json decodes them into an any (objects
// map[string]any, arrays []any, numbers float64 or json.Number). Every function is pure
// and safe for concurrent use.
package jsoncond
