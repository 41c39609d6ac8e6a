package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

var (
	cacheDir = plugintest.CacheDir() // compilation cache shared by the tests (see plugintest)
	corePath string                  // the core plugin, built once
)

func TestMain(m *testing.M) {
	if code, ok := stalledMain(); ok { // this binary runs as onex-host (see signal_test.go)
		os.Exit(code)
	}
	flag.Parse()
	cleanup, err := setupShared() // the CLI and plugins built once (see shared_test.go)
	if err == nil {
		corePath, err = buildAndWarm("plugins/core")
	}
	if err == nil {
		err = warm(fixture("wat/echo.wasm"))
	}
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	// wazero computes its version lazily into a global on first use, unguarded: two
	// parallel tests starting serve at once race on it under -race. Compute it here.
	if c, err := wazero.NewCompilationCacheWithDir(cacheDir); err == nil {
		_ = c.Close(context.Background())
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// cli runs Main with args plus the shared cache, and returns the exit code, stdout and
// stderr.
func cli(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	if len(args) > 0 && (args[0] == "run" || args[0] == "batch" || args[0] == "inspect" || args[0] == "call") {
		args = append(args, "--cache-dir", cacheDir)
		if !slices.Contains(args, "--data-dir") {
			args = append(args, "--data-dir", t.TempDir())
		}
	}
	var out, errOut bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func fixture(name string) string {
	return filepath.Join(plugintest.Root(), "plugins", "testdata", name)
}

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		stdin  string
		args   []string
		result string
	}{
		{name: "sum_numbers", args: []string{"--type", "sum_numbers", "--data", "[1,2,3,4,5]"}, result: "15"},
		{name: "string_uppercase", args: []string{"--type", "string_uppercase", "--data", `"abc"`}, result: `"ABC"`},
		{name: "sha256", args: []string{"-t", "sha256", "-d", `"abc"`},
			result: `"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"`},
		{name: "default is identity", args: []string{"--data", `{"k":[1,2]}`}, result: `{"k":[1,2]}`},
		{name: "input from stdin", stdin: `{"computation_type":"sum_numbers","data":[2,3],"operation_id":"op-1"}`,
			args: []string{"--input", "-"}, result: "5"},
		{name: "no cache", args: []string{"--type", "sum_numbers", "--data", "[1,2]", "--no-cache"}, result: "3"},
		{name: "type overrides input", stdin: `{"computation_type":"sum_numbers","data":"x"}`,
			args: []string{"--input", "-", "--type", "string_uppercase"}, result: `"X"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := cli(t, tt.stdin, append([]string{"run", corePath}, tt.args...)...)
			require.Equal(t, 0, code, stderr)
			var out abi.ComputeOutput
			require.NoError(t, json.Unmarshal([]byte(stdout), &out))
			assert.JSONEq(t, tt.result, string(out.Result))
			assert.NotEmpty(t, out.OperationID)
			assert.False(t, out.CacheHit)
		})
	}
}

func TestRun_Errors(t *testing.T) {
	echo := fixture("wat/echo.wasm") // misuse: the plugin is not the point, but for the memory minimum
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{name: "unknown computation", args: []string{"run", echo, "--type", "nope"}, code: 1, stderr: "unknown computation"},
		{name: "invalid data", args: []string{"run", echo, "--data", "{"}, code: 2, stderr: "not valid JSON"},
		{name: "missing plugin argument", args: []string{"run"}, code: 2, stderr: "want <plugin.wasm>"},
		{name: "data and input together", args: []string{"run", echo, "--data", "1", "--input", "-"}, code: 2, stderr: "data input"},
		{name: "unknown flag", args: []string{"run", echo, "--bogus"}, code: 2, stderr: "unknown flag"},
		{name: "bad memory limit", args: []string{"run", echo, "--memory-limit", "lots"}, code: 2, stderr: "invalid size"},
		{name: "not wasm", args: []string{"run", fixture("notwasm.txt")}, code: 1, stderr: "invalid module"},
		{name: "command module", args: []string{"run", fixture("wat/command.wasm")}, code: 1, stderr: "-buildmode=c-shared"},
		{name: "missing file", args: []string{"inspect", filepath.Join(t.TempDir(), "none.wasm")}, code: 2, stderr: "no such file"},
		{name: "missing plugin file", args: []string{"run", filepath.Join(t.TempDir(), "none.wasm")}, code: 2, stderr: "none.wasm: no such file"},
		{name: "memory minimum over the limit", args: []string{"run", corePath, "--memory-limit", "1MiB"}, code: 1,
			stderr: "over the memory limit of 1 MiB (16 pages)"},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: "unknown command"},
		{name: "bad log level", args: []string{"run", echo, "--log-level", "loud"}, code: 2, stderr: "--log-level"},
		{name: "fuel budget", args: []string{"run", fixture("wat/loop.wasm"), "--fuel", "1000000"}, code: 1, stderr: "fuel exhausted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, "", tt.args...)
			assert.Equal(t, tt.code, code)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tt.stderr)
		})
	}
}

// TestRun_Timeout: a guest that loops forever is stopped at its deadline. The loop never
// ends, so returning at all proves it was stopped; the message says it was the timeout
// that stopped it. No wall-clock bound: under load, starting the CLI and compiling the
// module take what they take.
func TestRun_Timeout(t *testing.T) {
	code, _, stderr := cli(t, "", "run", fixture("wat/loop.wasm"), "--timeout", "300ms")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "timeout: guest stopped after the 300ms timeout")
}

func TestInspect(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := cli(t, "", "inspect", corePath, "--json")
	require.Equal(t, 0, code, stderr)
	var info inspection
	require.NoError(t, json.Unmarshal([]byte(stdout), &info))
	assert.Equal(t, "core", info.Manifest.Name)
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, info.Digest)
	var names []string
	for _, c := range info.Manifest.Computations {
		names = append(names, c.Name)
	}
	assert.ElementsMatch(t, []string{"default", "string_uppercase", "sum_numbers", "stats", "sha256"}, names)
	assert.Contains(t, info.Exports, abi.ExportCompute)

	code, stdout, _ = cli(t, "", "inspect", corePath)
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "sum_numbers")
	assert.Contains(t, stdout, "digest:")
}

func TestVersion(t *testing.T) {
	code, stdout, _ := cli(t, "", "version")
	require.Equal(t, 0, code)
	assert.Regexp(t, `^onex-host .+ \(abi v1, go1\.\d+`, stdout)
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"run", "--help"}, {"batch", "--help"}, {"inspect", "--help"}, {"call", "--help"}, {"version", "--help"}} {
		code, stdout, _ := cli(t, "", args...)
		assert.Equal(t, 0, code, args)
		assert.Contains(t, stdout, "Usage:", args)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  bool
	}{
		{in: "64MiB", want: 64 << 20},
		{in: "512 KiB", want: 512 << 10},
		{in: "1G", want: 1 << 30},
		{in: "4GiB", want: 4 << 30},
		{in: "1000", want: 1000},
		{in: "2MB", want: 2e6},
		{in: "5GiB", err: true},
		{in: "0", err: true},
		{in: "-1MiB", err: true},
		{in: "MiB", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSize(tt.in)
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
