package host

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

func TestDecodeExtismNode(t *testing.T) {
	n, err := DecodeExtismNode([]byte(`
name: vowels
version: 1.0.0
deterministic: true
timeout_ms: 250
capabilities: [http]
config: {a: b}
computations:
  - {name: count, export: count_vowels, encoding: json}
  - {export: other}
`))
	require.NoError(t, err)
	assert.Equal(t, "vowels", n.Name)
	assert.True(t, n.Deterministic)
	assert.Equal(t, []abi.Capability{abi.CapabilityHTTP}, n.Capabilities)
	assert.Equal(t, map[string]string{"a": "b"}, n.Config)
	assert.Equal(t, []ExtismComputation{{Name: "count", Export: "count_vowels", Encoding: EncodingJSON}, {Export: "other"}}, n.Computations)

	// JSON is YAML too; an empty file is an empty node.
	n, err = DecodeExtismNode([]byte(`{"name": "x", "computations": [{"name": "y"}]}`))
	require.NoError(t, err)
	assert.Equal(t, "x", n.Name)
	n, err = DecodeExtismNode(nil)
	require.NoError(t, err)
	assert.Equal(t, ExtismNode{}, n)

	for in, msg := range map[string]string{
		"nmae: typo": "field nmae not found",
		"computations: [{name: a, encoding: utf8}]": `computations[0].encoding "utf8" is not json, text or base64`,
		"computations: [{name: a, output: xml}]":    `computations[0].output "xml" is not json, text or base64`,
		"computations: [{description: nothing}]":    "needs a name or an export",
		"name: [":                                   "did not find expected node content",
	} {
		_, err := DecodeExtismNode([]byte(in))
		require.ErrorIs(t, err, ErrInvalidManifest, in)
		assert.Contains(t, err.Error(), msg)
	}
}

func TestExtismNodeManifest(t *testing.T) {
	exports := []string{"_start", "count_vowels", "sayHello"}
	m, table, err := ExtismNode{}.manifest("/plugins/My-Plugin.wasm", "sha256:0123456789abcdef0123", exports)
	require.NoError(t, err)
	assert.Equal(t, "my-plugin", m.Name)
	assert.Equal(t, "sha256:0123456789ab", m.Version)
	assert.False(t, m.Deterministic)
	assert.Equal(t, map[string]Entry{
		"start":        {"_start", EncodingText, EncodingText},
		"count_vowels": {"count_vowels", EncodingText, EncodingText},
		"sayhello":     {"sayHello", EncodingText, EncodingText},
	}, table)

	m, table, err = ExtismNode{Name: "n", Version: "2", TimeoutMS: 10,
		Computations: []ExtismComputation{
			{Name: "c", Export: "count_vowels", Encoding: EncodingBase64},
			{Name: "d", Export: "count_vowels", Encoding: EncodingBase64, Output: EncodingJSON},
			{Name: "e", Export: "count_vowels", Output: EncodingJSON},
		}}.manifest("f.wasm", "d", exports)
	require.NoError(t, err)
	assert.Equal(t, int64(10), m.TimeoutMS)
	assert.Equal(t, map[string]Entry{
		"c": {"count_vowels", EncodingBase64, EncodingBase64},
		"d": {"count_vowels", EncodingBase64, EncodingJSON},
		"e": {"count_vowels", EncodingText, EncodingJSON},
	}, table)
	require.Len(t, m.Computations, 3)
	assert.Equal(t, "c", m.Computations[0].Name)

	// A computation name inspect lists stands for its export ("start" → "_start"); a name
	// that fits no export, or several, is still refused.
	_, table, err = ExtismNode{Computations: []ExtismComputation{{Name: "call", Export: "start"}, {Name: "sayhello"}}}.
		manifest("f.wasm", "d", exports)
	require.NoError(t, err)
	assert.Equal(t, "_start", table["call"].Export)
	assert.Equal(t, "sayHello", table["sayhello"].Export)
	_, _, err = ExtismNode{Computations: []ExtismComputation{{Export: "nope"}}}.manifest("f.wasm", "d", exports)
	require.ErrorIs(t, err, ErrInvalidManifest)
	_, _, err = ExtismNode{Computations: []ExtismComputation{{Export: "a_b"}}}.manifest("f.wasm", "d", []string{"A b", "a+b"})
	require.ErrorIs(t, err, ErrInvalidManifest)
}

func TestComputationAndNodeNames(t *testing.T) {
	for in, want := range map[string]string{
		"count_vowels": "count_vowels",
		"_start":       "start",
		"sayHello":     "sayhello",
		"a b/c":        "a_b_c",
		"__":           "",
	} {
		assert.Equal(t, want, computationName(in), in)
	}
	assert.Equal(t, "count_vowels", nodeName("dir/Count_Vowels.wasm"))
	assert.Equal(t, "extism-plugin", nodeName(""))
	assert.Equal(t, "extism-plugin", nodeName("___.wasm"))
}

func TestEncodings(t *testing.T) {
	for _, tc := range []struct {
		enc     Encoding
		data    string
		guest   string
		out     string
		result  string
		inError string
	}{
		{enc: EncodingJSON, data: `{"a":1}`, guest: `{"a":1}`, out: `[1]`, result: `[1]`},
		{enc: EncodingJSON, data: `1`, guest: `1`, out: ``, result: `null`},
		{enc: EncodingText, data: `"héllo <b>"`, guest: `héllo <b>`, out: `a "q" <b>`, result: `"a \"q\" <b>"`},
		{enc: EncodingText, data: `[1,2]`, guest: `[1,2]`, out: ``, result: `""`},
		{enc: EncodingBase64, data: `"AAEC"`, guest: "\x00\x01\x02", out: "\xff", result: `"/w=="`},
		{enc: EncodingBase64, data: `[1]`, inError: "JSON string of base64"},
		{enc: EncodingBase64, data: `"***"`, inError: "not standard base64"},
	} {
		got, err := tc.enc.guestInput([]byte(tc.data))
		if tc.inError != "" {
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.inError)
			continue
		}
		require.NoError(t, err, tc.data)
		assert.Equal(t, tc.guest, string(got), tc.data)
		res, err := tc.enc.result([]byte(tc.out))
		require.NoError(t, err)
		assert.Equal(t, tc.result, string(res))
	}
	_, err := EncodingText.result([]byte{0xff})
	assert.ErrorContains(t, err, "not UTF-8")
	_, err = EncodingJSON.result([]byte("{"))
	assert.ErrorContains(t, err, "not valid JSON")
}

func TestGrants(t *testing.T) {
	dir := t.TempDir()
	g, err := ParsePathGrant(dir + ":ro")
	require.NoError(t, err)
	assert.Equal(t, PathGrant{Dir: dir, ReadOnly: true}, g)
	assert.Equal(t, dir+":ro", g.String())
	g, err = ParsePathGrant(dir)
	require.NoError(t, err)
	assert.False(t, g.ReadOnly)
	_, err = ParsePathGrant(":ro")
	assert.Error(t, err)

	n, err := Grants{Paths: []PathGrant{{Dir: dir + "/./"}}, Hosts: []string{"*.example.com", "api.example.com"}}.normalize()
	require.NoError(t, err)
	assert.Equal(t, dir, n.Paths[0].Dir)
	for _, bad := range []string{"", "http://x", "x:0", "x:", "::1", "x/y", "[", "a b"} {
		_, err := Grants{Hosts: []string{bad}}.normalize()
		assert.Error(t, err, bad)
	}
	_, err = Grants{Paths: []PathGrant{{Dir: dir + "/missing"}}}.normalize()
	assert.Error(t, err)
}
