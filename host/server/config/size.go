package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Size is a number of bytes. The file writes it as plain bytes (1048576) or as a whole
// number with a unit: "512KiB", "64MiB", "1GiB" (KiB, MiB, GiB and K, M, G are powers of
// 1024; KB, MB, GB powers of 1000; B is bytes). Zero means the field's default.
type Size uint64

// sizeUnits are the suffixes ParseSize accepts, longest first.
var sizeUnits = []struct {
	suffix string
	mult   uint64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30},
	{"B", 1},
}

// ParseSize parses a byte size such as "64MiB", "512KiB", "1G" or "1048576" (see Size).
// It is the one size syntax of onex-host: the config file and the CLI's flags use it.
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	mult := uint64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil || n > math.MaxUint64/mult {
		return 0, fmt.Errorf("%q is not a size: want bytes, or a whole number with a unit such as 512KiB, 64MiB or 1GiB", s)
	}
	return Size(n * mult), nil
}

// UnmarshalYAML decodes a size; see Size.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return nodeError(n, "want a size such as 64MiB")
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		return nodeError(n, err.Error())
	}
	*s = v
	return nil
}

// String returns the size in the largest binary unit that divides it exactly: "64MiB",
// "1GiB", "1000" (bytes).
func (s Size) String() string {
	for _, u := range []struct {
		suffix string
		mult   Size
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if s != 0 && s%u.mult == 0 {
			return strconv.FormatUint(uint64(s/u.mult), 10) + u.suffix
		}
	}
	return strconv.FormatUint(uint64(s), 10)
}

// nodeError reports a value the decoder cannot take, as the *yaml.TypeError the YAML
// decoder collects, with the node's position so decode can name the field.
func nodeError(n *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: column %d: %s", n.Line, n.Column, msg)}}
}
