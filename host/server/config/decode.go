package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The YAML decoder reports type problems as "line N: message" strings (Size and
// Duration add "column C: "); decode turns the first into a *FieldError by finding the
// node at that position in the document.
var (
	errorLine = regexp.MustCompile(`^line (\d+): (?:column (\d+): )?(.*)$`)
	fieldMsg  = regexp.MustCompile(`^field (.+) (not found|already set) in type \S+$`)
	dupKeyMsg = regexp.MustCompile(`^mapping key "(.*)" already defined at line \d+$`)
	typeMsg   = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.+)$")
)

// decode decodes one YAML document onto f, rejecting unknown fields. An empty document
// leaves f as it is.
func decode(b []byte, f *File) error {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return err // a syntax error: "yaml: line 3: ..."
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err := dec.Decode(f)
	if errors.Is(err, io.EOF) {
		return nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return locate(&root, te.Errors[0])
	}
	if err != nil {
		return err
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return errors.New("a configuration file holds one YAML document")
	}
	return nil
}

// position is one node of the document and its field path.
type position struct {
	line, col int
	path      string
	key       string // the key's text, for a mapping key
	value     string // the scalar's text, for a value
	kind      yaml.Kind
	isKey     bool
}

// positions lists every key and value under n.
func positions(n *yaml.Node, path string, out []position) []position {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			out = positions(c, path, out)
		}
		return out
	case yaml.MappingNode:
		out = append(out, position{line: n.Line, col: n.Column, path: path, kind: n.Kind})
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			out = append(out, position{line: k.Line, col: k.Column, path: p, key: k.Value, isKey: true})
			out = positions(v, p, out)
		}
		return out
	case yaml.SequenceNode:
		out = append(out, position{line: n.Line, col: n.Column, path: path, kind: n.Kind})
		for i, c := range n.Content {
			out = positions(c, fmt.Sprintf("%s[%d]", path, i), out)
		}
		return out
	default:
		return append(out, position{line: n.Line, col: n.Column, path: path, value: n.Value, kind: n.Kind})
	}
}

// locate turns one of the decoder's messages into an error naming the field.
func locate(root *yaml.Node, msg string) error {
	m := errorLine.FindStringSubmatch(msg)
	if m == nil {
		return errors.New(msg)
	}
	line, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2]) // "" when absent: 0
	text := m[3]
	all := positions(root, "", nil)
	find := func(match func(position) bool) string {
		for _, p := range all {
			if p.line == line && match(p) {
				return p.path
			}
		}
		return ""
	}
	var field string
	switch {
	case col > 0:
		field = find(func(p position) bool { return !p.isKey && p.col == col })
	case fieldMsg.MatchString(text):
		fm := fieldMsg.FindStringSubmatch(text)
		field = find(func(p position) bool { return p.isKey && p.key == fm[1] })
		text = "unknown field"
		if fm[2] == "already set" {
			text = "set twice"
		}
	case dupKeyMsg.MatchString(text):
		dm := dupKeyMsg.FindStringSubmatch(text)
		field = find(func(p position) bool { return p.isKey && p.key == dm[1] })
		text = "set twice"
	case typeMsg.MatchString(text):
		tm := typeMsg.FindStringSubmatch(text)
		shown := tm[2]
		field = find(func(p position) bool {
			switch {
			case p.isKey:
				return false
			case tm[1] == "!!seq":
				return p.kind == yaml.SequenceNode
			case tm[1] == "!!map":
				return p.kind == yaml.MappingNode
			}
			if prefix, cut := strings.CutSuffix(shown, "..."); cut {
				return strings.HasPrefix(p.value, prefix)
			}
			return p.value == shown
		})
		text = fmt.Sprintf("want %s, got %s", wantOf(tm[3]), gotOf(tm[1], shown))
	}
	if field == "" {
		field = find(func(position) bool { return true })
	}
	if field == "" {
		return fmt.Errorf("line %d: %s", line, text)
	}
	return &FieldError{Field: field, Message: fmt.Sprintf("%s (line %d)", text, line)}
}

// wantOf describes the Go type the decoder wanted.
func wantOf(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "config."):
		return "a mapping"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number"
	}
	return goType
}

// gotOf describes the YAML value the decoder got.
func gotOf(tag, shown string) string {
	switch tag {
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping"
	}
	return strconv.Quote(shown)
}
