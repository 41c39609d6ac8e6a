package fsm

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The roots a pointer may start with: what a condition or a template can see.
var roots = []string{"data", "context", "key", "state", "previous_state", "event_id", "type"}

// pointer is a parsed JSON pointer (RFC 6901) into the scope.
type pointer []string

// parsePointer parses s, which must start with one of roots.
func parsePointer(s string) (pointer, error) {
	if !strings.HasPrefix(s, "/") {
		return nil, fmt.Errorf("%q is not a JSON pointer (it starts with /data, /context, /key, /state, /previous_state, /event_id or /type)", s)
	}
	toks := strings.Split(s[1:], "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	if !slices.Contains(roots, toks[0]) {
		return nil, fmt.Errorf("%q does not start with /data, /context, /key, /state, /previous_state, /event_id or /type", s)
	}
	return toks, nil
}

// resolve returns the value p points at in scope, and whether it exists.
func (p pointer) resolve(scope map[string]any) (any, bool) {
	var cur any = scope
	for _, t := range p {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[t]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(c) || (len(t) > 1 && t[0] == '0') {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// A template placeholder: ${/json/pointer}.
var placeholder = regexp.MustCompile(`\$\{([^}]*)\}`)

// checkTemplate checks every placeholder of a template at load.
func checkTemplate(t any) error {
	switch t := t.(type) {
	case string:
		for _, m := range placeholder.FindAllStringSubmatch(t, -1) {
			if _, err := parsePointer(m[1]); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range t {
			if err := checkTemplate(e); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, e := range t {
			if err := checkTemplate(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// render fills a template from scope: a string that is exactly one placeholder becomes
// the value pointed at (any JSON value); a placeholder inside a longer string becomes
// the value's text (a string as is, anything else as JSON). A pointer to nothing is an
// error.
func render(t any, scope map[string]any) (any, error) {
	switch t := t.(type) {
	case string:
		if m := placeholder.FindStringSubmatch(t); m != nil && m[0] == t {
			return lookup(m[1], scope)
		}
		var err error
		out := placeholder.ReplaceAllStringFunc(t, func(s string) string {
			v, lerr := lookup(s[2:len(s)-1], scope)
			if lerr != nil {
				err = lerr
				return ""
			}
			if str, ok := v.(string); ok {
				return str
			}
			b, _ := json.Marshal(v)
			return string(b)
		})
		return out, err
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			v, err := render(e, scope)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			v, err := render(e, scope)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	}
	return t, nil
}

func lookup(s string, scope map[string]any) (any, error) {
	p, err := parsePointer(s) // checked at load
	if err != nil {
		return nil, err
	}
	v, ok := p.resolve(scope)
	if !ok {
		return nil, fmt.Errorf("%s points at nothing", s)
	}
	return v, nil
}
