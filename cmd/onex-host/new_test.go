package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// generatedFiles is what `onex-host new` writes.
var generatedFiles = []string{"go.mod", "main.go", "main_test.go", "Makefile", "README.md"}

// goIn runs the go command in dir with extra environment variables, failing t with its
// output. GOPROXY=off keeps the tests hermetic: a generated project must build from this
// checkout and the module cache alone. GOSUMDB=off because the checksum database is not
// reachable on CI machines (only the module proxy is): the cache's contents were verified
// against this repository's go.sum when `go mod download` filled it.
func goIn(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	start := time.Now()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GOPROXY=off", "GOWORK=off", "GOSUMDB=off"), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s\n%s", strings.Join(args, " "), out)
	t.Logf("go %s: %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
}

// scaffold runs `onex-host new` for a project of kind called name against this checkout,
// optionally runs go mod tidy, then builds it for wasip1 and runs its unit tests natively,
// as its Makefile and README say. It returns the .wasm file, warmed into the shared
// compilation cache (compiling it under -race would take ~40 s).
func scaffold(t *testing.T, name, kind string, tidy bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	code, stdout, stderr := cli(t, "", "new", name, "--kind", kind, "--dir", dir, "--onex-host", plugintest.Root())
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "created "+dir)
	for _, f := range generatedFiles {
		require.FileExists(t, filepath.Join(dir, f))
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err)
	assert.Contains(t, string(gomod), "replace github.com/onexhost/onex-host => "+plugintest.Root())
	makefile, err := os.ReadFile(filepath.Join(dir, "Makefile"))
	require.NoError(t, err)
	build := "GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o " + name + ".wasm ."
	assert.Contains(t, string(makefile), "\t"+build+"\n")
	assert.Contains(t, string(makefile), "\tgo test ./...\n")
	assert.Contains(t, string(makefile), "$(ONEX_HOST) run "+name+".wasm ")
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	require.NoError(t, err)
	assert.Contains(t, string(readme), build)

	if tidy {
		goIn(t, dir, nil, "mod", "tidy")
	}
	goIn(t, dir, []string{"GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0"}, "build", "-buildmode=c-shared", "-o", "x.wasm", ".")
	goIn(t, dir, nil, "test", "./...")
	wasm := filepath.Join(dir, "x.wasm")
	start := time.Now()
	require.NoError(t, warm(wasm)) // with the shared CLI (see shared_test.go)
	t.Logf("warm the compilation cache: %v", time.Since(start).Round(time.Millisecond))
	return wasm
}

func TestNew_Compute(t *testing.T) {
	t.Parallel()
	wasm := scaffold(t, "greeter", "compute", true) // after go mod tidy, as a user would
	code, stdout, stderr := cli(t, "", "run", wasm, "--type", "greet", "--data", `{"name":"world"}`)
	require.Equal(t, 0, code, stderr)
	var out abi.ComputeOutput
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	assert.JSONEq(t, `{"greeting":"Hello, world!"}`, string(out.Result))

	code, stdout, stderr = cli(t, "", "inspect", wasm, "--json")
	require.Equal(t, 0, code, stderr)
	var info inspection
	require.NoError(t, json.Unmarshal([]byte(stdout), &info))
	assert.Equal(t, "greeter", info.Manifest.Name)
	assert.Equal(t, abi.KindCompute, info.Manifest.Kind)
}

func TestNew_Effect(t *testing.T) {
	t.Parallel()
	wasm := scaffold(t, "notes", "effect", false) // exactly as generated: no go.sum, no tidy
	grant := t.TempDir()
	data, err := json.Marshal(map[string]string{"dir": grant, "name": "hello.txt", "text": "hello"})
	require.NoError(t, err)
	code, stdout, stderr := cli(t, "", "run", wasm, "--allow-path", grant, "--type", "save", "--data", string(data))
	require.Equal(t, 0, code, stderr)
	var out abi.EffectOutput
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	assert.Equal(t, abi.TransactionCommitted, out.TransactionState)
	var saved struct {
		Path  string `json:"path"`
		Bytes int    `json:"bytes"`
	}
	require.NoError(t, json.Unmarshal(out.Result, &saved))
	assert.Equal(t, filepath.Join(grant, "hello.txt"), saved.Path)
	assert.Equal(t, 5, saved.Bytes)
	b, err := os.ReadFile(saved.Path)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))

	// The manifest asks for fs: without a grant the plugin does not load.
	code, _, stderr = cli(t, "", "run", wasm, "--type", "save", "--data", string(data))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no directory is granted")
}

// TestNew_GoMod checks how go.mod solves the unpublished onex-host dependency, without
// building anything.
func TestNew_GoMod(t *testing.T) {
	root := plugintest.Root()
	tests := []struct {
		name    string
		args    []string
		want    []string
		notWant []string
	}{
		{name: "replace with the checkout", args: []string{"--onex-host", root},
			want: []string{"module example.com/p\n", "require github.com/onexhost/onex-host v0.0.0\n",
				"replace github.com/onexhost/onex-host => " + root + "\n"}},
		{name: "checkout given as a relative path", args: []string{"--onex-host", "../.."},
			want: []string{"replace github.com/onexhost/onex-host => " + root + "\n"}},
		{name: "no checkout: the embedded copy", args: []string{"--onex-host", "", "--module", "example.org/x/p"},
			want: []string{"module example.org/x/p\n", "require github.com/onexhost/onex-host v0.0.0\n",
				"\nreplace github.com/onexhost/onex-host => ./onex-host\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "p")
			code, _, stderr := cli(t, "", append([]string{"new", "p", "--dir", dir}, tt.args...)...)
			require.Equal(t, 0, code, stderr)
			b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			require.NoError(t, err)
			for _, s := range tt.want {
				assert.Contains(t, string(b), s)
			}
			for _, s := range tt.notWant {
				assert.NotContains(t, string(b), s)
			}
		})
	}
}

func TestNew_Errors(t *testing.T) {
	full := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(full, "keep.txt"), []byte("x"), 0o644))
	file := filepath.Join(full, "keep.txt")
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{name: "directory not empty", args: []string{"p", "--dir", full}, stderr: "exists and is not empty"},
		{name: "directory is a file", args: []string{"p", "--dir", file}, stderr: "is not a directory"},
		{name: "bad kind", args: []string{"p", "--kind", "reducer"}, stderr: `--kind "reducer": want compute or effect`},
		{name: "upper case name", args: []string{"Hello"}, stderr: `invalid name "Hello"`},
		{name: "path as name", args: []string{"../p"}, stderr: `invalid name "../p"`},
		{name: "empty name", args: []string{""}, stderr: `invalid name ""`},
		{name: "no name", args: nil, stderr: "want <name>"},
		{name: "bad language", args: []string{"p", "--lang", "zig"}, stderr: `--lang "zig": want go, c or rust`},
		{name: "effect in C", args: []string{"p", "--lang", "c", "--kind", "effect"}, stderr: "only --kind compute"},
		{name: "bad module", args: []string{"p", "--module", "a b"}, stderr: "not a module path"},
		{name: "not a checkout", args: []string{"p", "--onex-host", full}, stderr: "no go.mod of module github.com/onexhost/onex-host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, "", append([]string{"new"}, tt.args...)...)
			assert.Equal(t, 2, code)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tt.stderr)
			entries, err := os.ReadDir(full)
			require.NoError(t, err)
			assert.Len(t, entries, 1, "nothing written")
		})
	}
}

func TestNew_Help(t *testing.T) {
	code, stdout, _ := cli(t, "", "new", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "Usage:")
	assert.Contains(t, stdout, "--onex-host")
}

func TestNew_FindCheckout(t *testing.T) {
	root := plugintest.Root()
	assert.Equal(t, root, findCheckout(filepath.Join(root, "cmd", "onex-host")))
	assert.Equal(t, root, findCheckout(root))
	assert.Empty(t, findCheckout(t.TempDir()))
}
