package jsoncond

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
)

// A template placeholder: ${/json/pointer}.
var placeholder = regexp.MustCompile(`\$\{([^}]*)\}`)

// Placeholders returns the pointer of every placeholder in the template t (any JSON
// value: every string in it may hold placeholders), or the first that does not parse.
func Placeholders(t any, roots []string) ([]Pointer, error) {
	var out []Pointer
	var walk func(any) error
	walk = func(t any) error {
		switch t := t.(type) {
		case string:
			for _, m := range placeholder.FindAllStringSubmatch(t, -1) {
				p, err := ParsePointer(m[1], roots)
				if err != nil {
					return err
				}
				out = append(out, p)
			}
		case []any:
			for _, e := range t {
				if err := walk(e); err != nil {
					return err
				}
			}
		case map[string]any:
			for _, e := range t {
				if err := walk(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return out, walk(t)
}

// Render fills the template t from doc: a string that is exactly one placeholder
// becomes the value pointed at (any JSON value); a placeholder inside a longer string
// becomes the value's text (a string as is, anything else as JSON). A pointer to
// nothing is an error ("/x/y points at nothing"). Check templates with Placeholders
// first: Render does not check the pointers' roots.
func Render(t any, doc any) (any, error) {
	switch t := t.(type) {
	case string:
		if m := placeholder.FindStringSubmatch(t); m != nil && m[0] == t {
			return lookup(m[1], doc)
		}
		var err error
		out := placeholder.ReplaceAllStringFunc(t, func(s string) string {
			v, lerr := lookup(s[2:len(s)-1], doc)
			if lerr != nil {
				if err == nil {
					err = lerr
				}
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
			v, err := Render(e, doc)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case map[string]any:
		// In key order, so that of several pointers to nothing the same one is reported.
		out := make(map[string]any, len(t))
		for _, k := range slices.Sorted(maps.Keys(t)) {
			v, err := Render(t[k], doc)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	}
	return t, nil
}

func lookup(s string, doc any) (any, error) {
	if len(s) == 0 || s[0] != '/' {
		return nil, fmt.Errorf("%q is not a JSON pointer", s)
	}
	v, ok := parse(s).Resolve(doc)
	if !ok {
		return nil, fmt.Errorf("%s points at nothing", s)
	}
	return v, nil
}
