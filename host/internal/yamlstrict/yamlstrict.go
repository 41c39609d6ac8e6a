// Package yamlstrict decodes the YAML contracts (host/reducer/fsm,
// host/orchestrator/workflow) strictly and says where a problem is: its field path
// (steps[2].depends_on[0]) and its line.
package yamlstrict

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// The YAML decoder reports unknown fields and type errors as "line N: message".
var (
	lineMsg    = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownMsg = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	typeErrMsg = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (\\S+)$")
)

// Decode decodes b into v strictly: one YAML document, no unknown field, no wrong type.
// It returns the document's node tree, for At. An error's message is the first problem,
// with its field path and line when known ("states[1].colour: unknown field (line 6)").
func Decode(b []byte, v any) (*yaml.Node, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the document is empty")
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return nil, errors.New(decodeMessage(&root, te.Errors[0]))
	}
	if err != nil {
		return nil, err
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, errors.New("a contract is one YAML document")
	}
	return &root, nil
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
			return fmt.Sprintf("%s: %s (line %d)", PathString(path), text, line)
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
	case goType == "int" || goType == "int64":
		return "an integer"
	}
	return "a mapping"
}

// At formats msg as the problem at path (a sequence of mapping keys and list indexes)
// in the document root: "path: msg (line N)", without the line when root has none.
func At(root *yaml.Node, path []any, msg string) string {
	if line := lineOf(root, path); line > 0 {
		return fmt.Sprintf("%s: %s (line %d)", PathString(path), msg, line)
	}
	return fmt.Sprintf("%s: %s", PathString(path), msg)
}

// PathString spells path as steps[2].depends_on[0].
func PathString(path []any) string {
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
