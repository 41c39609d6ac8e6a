package jsoncond

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Pointer is a parsed JSON pointer (RFC 6901): its reference tokens, unescaped.
type Pointer []string

// ParsePointer parses s, whose first token must be one of roots (what the contract's
// document holds at the top).
func ParsePointer(s string, roots []string) (Pointer, error) {
	if !strings.HasPrefix(s, "/") {
		return nil, fmt.Errorf("%q is not a JSON pointer (it starts with %s)", s, rootList(roots))
	}
	p := parse(s)
	if !slices.Contains(roots, p[0]) {
		return nil, fmt.Errorf("%q does not start with %s", s, rootList(roots))
	}
	return p, nil
}

// parse splits a pointer that starts with "/" into its tokens.
func parse(s string) Pointer {
	toks := strings.Split(s[1:], "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks
}

// rootList spells roots as "/a, /b or /c".
func rootList(roots []string) string {
	var b strings.Builder
	for i, r := range roots {
		switch {
		case i == 0:
		case i == len(roots)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString("/" + r)
	}
	return b.String()
}

// Resolve returns the value p points at in doc, and whether it exists.
func (p Pointer) Resolve(doc any) (any, bool) {
	cur := doc
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

// String returns p as a JSON pointer, escaped.
func (p Pointer) String() string {
	var b strings.Builder
	for _, t := range p {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return b.String()
}
