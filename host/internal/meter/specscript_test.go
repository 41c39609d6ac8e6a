package meter

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero/api"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// This file reads the WebAssembly spec suite as wazero ships it: scripts converted by
// wabt's wast2json (https://github.com/WebAssembly/wabt/blob/main/docs/wast2json.md),
// one JSON file per .wast with the binary modules it names beside it.

// wazeroModule is the module whose spec suite the tests run, at the version in go.mod.
const wazeroModule = "github.com/tetratelabs/wazero"

// Value types wazero's api package has no constant for.
const (
	valueTypeV128    api.ValueType = 0x7b
	valueTypeFuncref api.ValueType = 0x70
)

// specDir returns wazero's spectest directory in the module cache: v1/testdata and
// v2/testdata hold the scripts, testdata/spectest.wasm the "spectest" host module.
func specDir(tb testing.TB) string {
	tb.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", wazeroModule)
	cmd.Dir = plugintest.Root()
	out, err := cmd.Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" {
		require.FailNowf(tb, "wazero is not in the module cache", "run `go mod download` (go list: %v)", err)
	}
	dir := filepath.Join(mod, "internal", "integration_test", "spectest")
	_, err = os.Stat(filepath.Join(dir, "testdata", "spectest.wasm"))
	require.NoError(tb, err, "wazero's spec suite is missing: run `go mod download`")
	return dir
}

// specScript is one wast2json script.
type specScript struct {
	Commands []specCommand `json:"commands"`
}

// specCommand is one command of a script; which fields are set depends on Type.
type specCommand struct {
	Type       string      `json:"type"`
	Line       int         `json:"line"`
	Name       string      `json:"name"`        // module, register: the module's $name
	Filename   string      `json:"filename"`    // module and assert_* on a module
	As         string      `json:"as"`          // register: the name other modules import it by
	ModuleType string      `json:"module_type"` // assert_invalid, assert_malformed: binary or text
	Text       string      `json:"text"`        // assert_*: the expected failure
	Action     specAction  `json:"action"`
	Expected   []specValue `json:"expected"`
}

// specAction is an invoke (call an export) or a get (read an exported global).
type specAction struct {
	Type   string      `json:"type"`
	Module string      `json:"module"` // a $name; empty means the last module
	Field  string      `json:"field"`
	Args   []specValue `json:"args"`
}

// specValue is a typed value. Value is a decimal string (a float's bits; an expected
// float may be "nan:canonical" or "nan:arithmetic"), "null" for a null reference, a
// list of lane strings for a v128, or absent for "any reference".
type specValue struct {
	Type     string `json:"type"`
	LaneType string `json:"lane_type"`
	Value    any    `json:"value"`
}

func (c specCommand) String() string {
	return fmt.Sprintf("line %d %s %s%s", c.Line, c.Type, c.Filename, c.Action.Field)
}

// readScript reads a script and checks the one assumption the harness makes about it:
// a register command directly follows the module it names.
func readScript(tb testing.TB, path string) specScript {
	tb.Helper()
	var s specScript
	require.NoError(tb, json.Unmarshal(readFile(tb, path), &s), path)
	for i, c := range s.Commands {
		if c.Type == "register" {
			require.True(tb, i > 0 && s.Commands[i-1].Type == "module" && s.Commands[i-1].Name == c.Name,
				"%s: %s does not follow its module", path, c)
		}
	}
	return s
}

// registeredAs returns the name the module of command i is registered as, or "".
func (s specScript) registeredAs(i int) string {
	if i+1 < len(s.Commands) && s.Commands[i+1].Type == "register" {
		return s.Commands[i+1].As
	}
	return ""
}

// words encodes v as wazero passes it: one uint64, or two (low, high) for a v128.
// externref n is passed as n+1, since wazero's null externref is 0.
func (v specValue) words() ([]uint64, error) {
	switch v.Type {
	case "v128":
		lanes, width, err := v.lanes()
		if err != nil {
			return nil, err
		}
		w := make([]uint64, 2)
		for i, l := range lanes {
			x, err := parseBits(l, width)
			if err != nil {
				return nil, err
			}
			w[i*width/64] |= x << (i * width % 64)
		}
		return w, nil
	case "funcref", "externref":
		if v.Value == nil || v.Value == "null" {
			return []uint64{0}, nil
		}
		s, _ := v.Value.(string)
		x, err := strconv.ParseUint(s, 10, 63)
		if err != nil || v.Type == "funcref" {
			return nil, fmt.Errorf("reference %s %v", v.Type, v.Value)
		}
		return []uint64{x + 1}, nil
	}
	s, _ := v.Value.(string)
	x, err := parseBits(s, scalarWidth(v.Type))
	return []uint64{x}, err
}

// match reports whether w, the words of one result, is what v expects. A NaN
// expectation accepts any NaN of its class: canonical is the quiet NaN with either
// sign and no payload, arithmetic any NaN whose most significant payload bit is set.
func (v specValue) match(w []uint64) bool {
	switch v.Type {
	case "v128":
		lanes, width, err := v.lanes()
		if err != nil || len(w) != 2 {
			return false
		}
		for i, l := range lanes {
			x := w[i*width/64] >> (i * width % 64)
			if !matchScalar(l, v.LaneType[0] == 'f', width, x) {
				return false
			}
		}
		return true
	case "funcref", "externref":
		if v.Value == nil {
			return true // any reference
		}
		want, err := v.words()
		return err == nil && want[0] == w[0]
	}
	s, _ := v.Value.(string)
	return matchScalar(s, v.Type[0] == 'f', scalarWidth(v.Type), w[0])
}

func matchScalar(s string, float bool, width int, x uint64) bool {
	mask := uint64(1)<<(width-1)<<1 - 1
	x &= mask
	quiet := uint64(0x7fc00000) // all exponent bits and the top payload bit
	if width == 64 {
		quiet = 0x7ff8000000000000
	}
	switch {
	case float && s == "nan:canonical":
		return x&(mask>>1) == quiet
	case float && s == "nan:arithmetic":
		return x&quiet == quiet
	}
	want, err := parseBits(s, width)
	return err == nil && want == x
}

// lanes returns a v128's lane strings and their width in bits.
func (v specValue) lanes() ([]string, int, error) {
	width := map[string]int{"i8": 8, "i16": 16, "i32": 32, "i64": 64, "f32": 32, "f64": 64}[v.LaneType]
	raw, _ := v.Value.([]any)
	if width == 0 || len(raw)*width != 128 {
		return nil, 0, fmt.Errorf("v128 %s %v", v.LaneType, v.Value)
	}
	lanes := make([]string, len(raw))
	for i, l := range raw {
		lanes[i], _ = l.(string)
	}
	return lanes, width, nil
}

func scalarWidth(typ string) int {
	if strings.HasSuffix(typ, "32") {
		return 32
	}
	return 64
}

// parseBits parses a decimal integer, unsigned or negative, as width bits.
func parseBits(s string, width int) (uint64, error) {
	if strings.HasPrefix(s, "-") {
		x, err := strconv.ParseInt(s, 10, width)
		return uint64(x) & (uint64(1)<<(width-1)<<1 - 1), err
	}
	return strconv.ParseUint(s, 10, width)
}

// sameResults reports whether two calls of the same function gave the same results:
// bit for bit, except that a funcref is a pointer into its runtime, so only its being
// null must agree.
func sameResults(types []api.ValueType, a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	i := 0
	for _, t := range types {
		n := 1
		if t == valueTypeV128 {
			n = 2
		}
		if i+n > len(a) {
			return false
		}
		for j := i; j < i+n; j++ {
			if t == valueTypeFuncref && (a[j] == 0) != (b[j] == 0) || t != valueTypeFuncref && a[j] != b[j] {
				return false
			}
		}
		i += n
	}
	return i == len(a)
}

// checkExpected checks results against an assert_return's expected values.
func checkExpected(exps []specValue, results []uint64) error {
	i := 0
	for k, e := range exps {
		n := 1
		if e.Type == "v128" {
			n = 2
		}
		if i+n > len(results) || !e.match(results[i:i+n]) {
			return fmt.Errorf("result %d: got %#x, want %s %v", k, results[i:min(i+n, len(results))], e.Type, e.Value)
		}
		i += n
	}
	if i != len(results) {
		return fmt.Errorf("%d result words, want %d", len(results), i)
	}
	return nil
}

// TestSpecValue_Match checks the harness's reading of expected values against known
// bit patterns, NaN classes and lane orders included.
func TestSpecValue_Match(t *testing.T) {
	lanes := func(s ...string) []any {
		out := make([]any, len(s))
		for i, x := range s {
			out[i] = x
		}
		return out
	}
	for _, tc := range []struct {
		name string
		v    specValue
		w    []uint64
		want bool
	}{
		{name: "i32", v: specValue{Type: "i32", Value: "42"}, w: []uint64{42}, want: true},
		{name: "i32 other", v: specValue{Type: "i32", Value: "42"}, w: []uint64{43}},
		{name: "i32 negative", v: specValue{Type: "i32", Value: "-1"}, w: []uint64{0xffffffff}, want: true},
		{name: "i64 unsigned", v: specValue{Type: "i64", Value: "18446744073709551615"}, w: []uint64{1<<64 - 1}, want: true},
		{name: "f32 bits", v: specValue{Type: "f32", Value: "2147483648"}, w: []uint64{0x80000000}, want: true},
		{name: "f32 -0 is not +0", v: specValue{Type: "f32", Value: "2147483648"}, w: []uint64{0}},
		{name: "f32 canonical", v: specValue{Type: "f32", Value: "nan:canonical"}, w: []uint64{0x7fc00000}, want: true},
		{name: "f32 canonical negative", v: specValue{Type: "f32", Value: "nan:canonical"}, w: []uint64{0xffc00000}, want: true},
		{name: "f32 canonical with payload", v: specValue{Type: "f32", Value: "nan:canonical"}, w: []uint64{0x7fc00001}},
		{name: "f32 arithmetic", v: specValue{Type: "f32", Value: "nan:arithmetic"}, w: []uint64{0x7fc00001}, want: true},
		{name: "f32 signalling is not arithmetic", v: specValue{Type: "f32", Value: "nan:arithmetic"}, w: []uint64{0x7f800001}},
		{name: "f64 canonical", v: specValue{Type: "f64", Value: "nan:canonical"}, w: []uint64{0xfff8000000000000}, want: true},
		{name: "f64 canonical with payload", v: specValue{Type: "f64", Value: "nan:canonical"}, w: []uint64{0x7ff8000000000001}},
		{name: "f64 infinity", v: specValue{Type: "f64", Value: "nan:arithmetic"}, w: []uint64{0x7ff0000000000000}},
		{name: "v128 i16 lanes", v: specValue{Type: "v128", LaneType: "i16", Value: lanes("1", "2", "3", "4", "5", "6", "7", "65535")},
			w: []uint64{0x0004000300020001, 0xffff000700060005}, want: true},
		{name: "v128 i16 lanes swapped", v: specValue{Type: "v128", LaneType: "i16", Value: lanes("1", "2", "3", "4", "5", "6", "7", "65535")},
			w: []uint64{0xffff000700060005, 0x0004000300020001}},
		{name: "v128 f32 lanes", v: specValue{Type: "v128", LaneType: "f32", Value: lanes("0", "nan:canonical", "1065353216", "nan:arithmetic")},
			w: []uint64{0xffc00000_00000000, 0x7fe00000_3f800000}, want: true},
		{name: "externref null", v: specValue{Type: "externref", Value: "null"}, w: []uint64{0}, want: true},
		{name: "externref 0 is not null", v: specValue{Type: "externref", Value: "0"}, w: []uint64{0}},
		{name: "externref 1", v: specValue{Type: "externref", Value: "1"}, w: []uint64{2}, want: true},
		{name: "funcref any", v: specValue{Type: "funcref"}, w: []uint64{0xc0ffee}, want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.v.match(tc.w))
			if tc.want && tc.v.Type != "funcref" && !strings.Contains(fmt.Sprint(tc.v.Value), "nan") {
				w, err := tc.v.words() // arguments are encoded as results are read
				require.NoError(t, err)
				assert.Equal(t, tc.w, w)
			}
		})
	}
}
