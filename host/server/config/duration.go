package config

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a length of time in Go's syntax: "500ms", "30s", "10m", "1h30m". Zero
// means the field's default. Where a field's comment says so, a negative duration turns
// the limit off; -1 is accepted as short for one (-1ns). Any other bare number is an
// error, since it would not say its unit.
type Duration time.Duration

// UnmarshalYAML decodes a duration; see Duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return nodeError(n, "want a duration such as 30s")
	}
	switch n.Value {
	case "0", "":
		*d = 0
		return nil
	case "-1":
		*d = -1
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return nodeError(n, fmt.Sprintf("%q is not a duration: want Go syntax such as 500ms, 30s or 10m (a bare number only as 0 or -1)", n.Value))
	}
	*d = Duration(v)
	return nil
}

// String returns the duration in Go's syntax.
func (d Duration) String() string { return time.Duration(d).String() }
