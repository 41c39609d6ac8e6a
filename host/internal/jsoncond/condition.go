package jsoncond

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Operators are the condition operators (ONEX's): equals, not_equals (JSON equality),
// greater_than, greater_than_or_equal, less_than, less_than_or_equal (two numbers or two
// strings), in, not_in (value is a list), exists, not_exists (no value), matches (a Go
// regular expression, the field a string).
var Operators = []string{"equals", "not_equals", "greater_than", "greater_than_or_equal",
	"less_than", "less_than_or_equal", "in", "not_in", "exists", "not_exists", "matches"}

// Condition is one compiled condition: a field, an operator, a value.
type Condition struct {
	Field    Pointer
	operator string
	value    any // JSON form
	re       *regexp.Regexp
}

// Compile checks one condition written as field, operator and (a YAML value, Kind 0
// when absent) value; on a problem it returns the part at fault ("field", "operator"
// or "value") and a message.
func Compile(field, operator string, value *yaml.Node, roots []string) (*Condition, string, string) {
	c := &Condition{operator: operator}
	ptr, err := ParsePointer(field, roots)
	if err != nil {
		return c, "field", err.Error()
	}
	c.Field = ptr
	if !slices.Contains(Operators, operator) {
		return c, "operator", "\"" + operator + "\" is not one of " + strings.Join(Operators, ", ")
	}
	hasValue := value != nil && value.Kind != 0
	switch operator {
	case "exists", "not_exists":
		if hasValue {
			return c, "value", "operator " + operator + " takes no value"
		}
		return c, "", ""
	}
	if !hasValue {
		return c, "value", "operator " + operator + " needs a value"
	}
	val, err := YAMLValue(value)
	if err != nil {
		return c, "value", err.Error()
	}
	c.value = val
	switch operator {
	case "in", "not_in":
		if _, ok := val.([]any); !ok {
			return c, "value", "operator " + operator + " needs a list"
		}
	case "greater_than", "greater_than_or_equal", "less_than", "less_than_or_equal":
		switch val.(type) {
		case float64, string:
		default:
			return c, "value", "operator " + operator + " needs a number or a string"
		}
	case "matches":
		s, ok := val.(string)
		if !ok {
			return c, "value", "operator matches needs a regular expression string"
		}
		re, err := regexp.Compile(s)
		if err != nil {
			return c, "value", err.Error()
		}
		c.re = re
	}
	return c, "", ""
}

// Holds evaluates c on doc. A condition on a field that does not exist fails, except
// not_exists; so does an ordering of values of different types.
func (c *Condition) Holds(doc any) bool {
	v, ok := c.Field.Resolve(doc)
	switch c.operator {
	case "exists":
		return ok
	case "not_exists":
		return !ok
	}
	if !ok {
		return false
	}
	v = normalize(v)
	switch c.operator {
	case "equals":
		return reflect.DeepEqual(v, c.value)
	case "not_equals":
		return !reflect.DeepEqual(v, c.value)
	case "in", "not_in":
		found := false
		for _, e := range c.value.([]any) {
			if reflect.DeepEqual(v, e) {
				found = true
			}
		}
		return found == (c.operator == "in")
	case "matches":
		s, isStr := v.(string)
		return isStr && c.re.MatchString(s)
	}
	cmp, comparable := compare(v, c.value)
	if !comparable {
		return false
	}
	switch c.operator {
	case "greater_than":
		return cmp > 0
	case "greater_than_or_equal":
		return cmp >= 0
	case "less_than":
		return cmp < 0
	default: // less_than_or_equal
		return cmp <= 0
	}
}

// normalize turns json.Number values (a document decoded with UseNumber, which keeps
// large integers exact) into float64, as the condition's own value is.
func normalize(v any) any {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return v.String()
		}
		return f
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}

// compare orders two numbers or two strings.
func compare(a, b any) (int, bool) {
	switch a := a.(type) {
	case float64:
		if b, ok := b.(float64); ok {
			switch {
			case a < b:
				return -1, true
			case a > b:
				return 1, true
			}
			return 0, true
		}
	case string:
		if b, ok := b.(string); ok {
			return strings.Compare(a, b), true
		}
	}
	return 0, false
}

// YAMLValue converts a YAML value to its JSON form (numbers float64, maps
// map[string]any), as encoding/json would decode it.
func YAMLValue(n *yaml.Node) (any, error) {
	var x any
	if err := n.Decode(&x); err != nil {
		return nil, err
	}
	b, err := json.Marshal(x)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}
