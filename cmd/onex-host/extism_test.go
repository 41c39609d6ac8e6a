package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// extism returns the path of one of Extism's own test plugins (see plugintest.ExtismPath).
func extism(t *testing.T, name string) string {
	t.Helper()
	path, err := plugintest.ExtismPath(name)
	require.NoError(t, err)
	return path
}

func TestCall_ExtismPluginsInThreeLanguages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"rust", []string{extism(t, "count_vowels.wasm"), "count_vowels", "--input", "Hello, World!"}, `{"count":3,"total":3,"vowels":"aeiouAEIOU"}`},
		{"haskell", []string{extism(t, "hello_haskell.wasm"), "testing", "--input", "ben"}, "Hello, ben"},
		{"go command", []string{extism(t, "std_command.wasm"), "_start", "--input", "ben"}, "hello ben"},
		// inspect lists the command's computation as start: call accepts it too.
		{"go command by its computation name", []string{extism(t, "std_command.wasm"), "start", "--input", "ben"}, "hello ben"},
		{"tinygo config", []string{extism(t, "config.wasm"), "run_test", "--config", "thing=set"}, `{"config": "set"}`},
		{"stdin", []string{extism(t, "hello_haskell.wasm"), "testing", "--input-file", "-"}, "Hello, from stdin"},
		{"native computation", []string{corePath, "string_uppercase", "--input", `"abc"`}, `"ABC"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := cli(t, "from stdin", append([]string{"call"}, tc.args...)...)
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, tc.want, stdout, "the output bytes, unchanged")
		})
	}
}

func TestCall_Errors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"plugin error", []string{extism(t, "fail.wasm"), "run_test"}, 1, "plugin failed: Some error message"},
		{"timeout", []string{extism(t, "sleep.wasm"), "run_test", "--config", "duration=30", "--timeout", "100ms"}, 1, "timeout"},
		{"unknown function", []string{extism(t, "count_vowels.wasm"), "nope"}, 1, `"nope" is not a function Extism can call`},
		{"ungranted host", []string{extism(t, "http_headers.wasm"), "http_get", "--input", `{"url":"http://127.0.0.1:1/"}`}, 1, "capability not granted"},
		{"bad config flag", []string{extism(t, "config.wasm"), "run_test", "--config", "novalue"}, 2, "want KEY=VALUE"},
		{"undeclared config key on native", []string{corePath, "sha256", "--config", "a=b"}, 1, `config key "a" is not declared by node core`},
		{"missing function", []string{extism(t, "fail.wasm")}, 2, "want <plugin.wasm> <function>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := cli(t, "", append([]string{"call"}, tc.args...)...)
			assert.Equal(t, tc.code, code, stderr)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tc.stderr)
		})
	}
}

func TestRunBatchInspect_Extism(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	wasm := filepath.Join(dir, "vowels.wasm")
	require.NoError(t, os.Symlink(extism(t, "count_vowels.wasm"), wasm))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vowels"+host.SidecarSuffix), []byte(
		"version: 1.2.0\ndeterministic: true\ncomputations:\n  - {name: count, export: count_vowels, encoding: json}\n"), 0o644))

	code, stdout, stderr := cli(t, "", "run", wasm, "--type", "count", "--data", `"aeiou"`)
	require.Equal(t, 0, code, stderr)
	var out abi.ComputeOutput
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	var res struct{ Count int }
	require.NoError(t, json.Unmarshal(out.Result, &res))
	assert.Equal(t, 5, res.Count)

	code, stdout, stderr = cli(t, "\"a\"\n\"ee\"\n\"iii\"\n", "batch", wasm, "--type", "count", "--input", "-", "--workers", "2")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 3)
	for i, line := range lines {
		require.NoError(t, json.Unmarshal([]byte(line), &out))
		var v struct{ Count int }
		require.NoError(t, json.Unmarshal(out.Result, &v))
		assert.Equal(t, i+1, v.Count)
	}

	code, stdout, stderr = cli(t, "", "inspect", wasm, "--json")
	require.Equal(t, 0, code, stderr)
	var info inspection
	require.NoError(t, json.Unmarshal([]byte(stdout), &info))
	assert.Equal(t, host.FlavourExtism, info.Flavour)
	assert.Equal(t, "vowels", info.Manifest.Name)
	assert.Equal(t, "1.2.0", info.Manifest.Version)
	assert.True(t, info.Manifest.Deterministic)
	assert.Equal(t, []entry{{Computation: "count", Export: "count_vowels", Input: host.EncodingJSON, Output: host.EncodingJSON}}, info.Entries)

	// --export replaces the sidecar's computations; text output shows the mapping.
	code, stdout, stderr = cli(t, "", "inspect", wasm, "--export", "count_vowels")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "abi:            extism")
	assert.Contains(t, stdout, "count_vowels()")
}

func TestRunBatch_ExtismPluginsInThreeLanguages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, computation, data, result string
	}{
		{"rust", "count_vowels.wasm", "count_vowels", `"ooo"`, `"{\"count\":3,\"total\":3,\"vowels\":\"aeiouAEIOU\"}"`},
		{"haskell", "hello_haskell.wasm", "testing", `"ben"`, `"Hello, ben"`},
		{"go command", "std_command.wasm", "start", `"ben"`, `"hello ben"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := cli(t, "", "run", extism(t, tc.file), "--type", tc.computation, "--data", tc.data)
			require.Equal(t, 0, code, stderr)
			var out abi.ComputeOutput
			require.NoError(t, json.Unmarshal([]byte(stdout), &out))
			assert.Equal(t, tc.result, string(out.Result))

			code, stdout, stderr = cli(t, tc.data+"\n"+tc.data+"\n", "batch", extism(t, tc.file), "--type", tc.computation, "--input", "-")
			require.Equal(t, 0, code, stderr)
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			require.Len(t, lines, 2)
			require.NoError(t, json.Unmarshal([]byte(lines[1]), &out))
			if tc.name != "rust" { // count_vowels' running total differs per instance
				assert.Equal(t, tc.result, string(out.Result))
			}
		})
	}
}
