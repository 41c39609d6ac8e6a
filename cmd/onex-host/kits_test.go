package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// requireToolchains makes a missing C or Rust toolchain fail the kit tests instead of
// skipping them; .ci/run sets it, since CI installs both.
const requireToolchains = "ONEX_HOST_REQUIRE_TOOLCHAINS"

// needTool skips t (or fails it under ONEX_HOST_REQUIRE_TOOLCHAINS) unless err is nil.
func needTool(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv(requireToolchains) != "" {
		t.Fatalf("%s: %v (%s is set)", what, err, requireToolchains)
	}
	t.Skipf("skipped: %s unavailable: %v (Debian: apt-get install clang lld rustc libstd-rust-dev-wasm32)", what, err)
}

func needClang(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("clang")
	if err == nil {
		_, err = exec.LookPath("wasm-ld")
	}
	needTool(t, "clang and wasm-ld (lld)", err)
}

func needRustc(t *testing.T) {
	t.Helper()
	_, err := wasmRustc()
	needTool(t, "rustc for wasm32-unknown-unknown", err)
}

// TestKits_Examples builds the C and Rust kits' example plugins (sdk/c/example,
// sdk/rust/example) with `onex-host build` and runs them.
func TestKits_Examples(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ lang, dir string }{
		{langC, filepath.Join(plugintest.Root(), "sdk", "c", "example")},
		{langRust, filepath.Join(plugintest.Root(), "sdk", "rust", "example")},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			t.Parallel()
			if tt.lang == langC {
				needClang(t)
			} else {
				needRustc(t)
			}
			wasm := filepath.Join(t.TempDir(), "greet.wasm")
			code, stdout, stderr := cli(t, "", "build", tt.dir, "-o", wasm)
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, stdout, "built "+wasm+" ("+tt.lang+", ")

			code, stdout, stderr = cli(t, "", "run", wasm, "--type", "greet", "--data", `{"name":"w\"orld \u00e9"}`)
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, stdout, `"greeting": "Hello, w\"orld é!"`)
			code, stdout, stderr = cli(t, "", "run", wasm, "--type", "greet", "--data", `{"name":"x"}`, "--config", "salutation=Hi")
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, stdout, `"greeting": "Hi, x!"`, "onex.config reached the kit's plugin")
			code, _, stderr = cli(t, "", "run", wasm, "--type", "greet", "--data", `{"other":{"name":"x"}}`)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, "invalid input")
			// The manifest's hand-written input_schema is enforced at the door, and
			// --no-validate-input leaves the input to the plugin's own check.
			code, _, stderr = cli(t, "", "run", wasm, "--type", "greet", "--data", `{"name":5}`)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, "/name: want string, got number")
			code, _, stderr = cli(t, "", "run", wasm, "--type", "greet", "--data", `{"name":5}`, "--no-validate-input")
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, "want {")
			assert.NotContains(t, stderr, "/name: want string")
			code, _, stderr = cli(t, "", "run", wasm, "--type", "nope", "--data", `{}`)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, "nope")

			code, stdout, stderr = cli(t, "", "inspect", wasm, "--json")
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, stdout, `"name": "greet"`)
		})
	}
}

// TestKits_RustCrateUnitTests runs the onex crate's own tests natively.
func TestKits_RustCrateUnitTests(t *testing.T) {
	t.Parallel()
	rustc, err := exec.LookPath("rustc")
	needTool(t, "rustc", err)
	bin := filepath.Join(t.TempDir(), "onex-tests")
	out, err := exec.Command(rustc, "--edition", "2021", "--test", "-o", bin, filepath.Join(plugintest.Root(), "sdk", "rust", "onex", "src", "lib.rs")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command(bin).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "test result: ok")
}

func TestBuild_Errors(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	code, _, stderr := cli(t, "", "build", empty)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "not a plugin project")
	code, _, stderr = cli(t, "", "build", filepath.Join(empty, "missing"))
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "no such file")

	broken := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(broken, "x.c"), []byte("int x = ;\n"), 0o644))
	needClang(t)
	code, _, stderr = cli(t, "", "build", broken)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "build: ")
}

// TestKits_NewAnywhere is the plugin author's path with only the onex-host binary: the
// CLI copied into an empty directory outside this repository scaffolds a project per
// language there, and each builds, passes its own tests (make test) and runs (make run),
// calling that copy of the CLI; `onex-host build` builds each too; then each is served
// with `serve <name>.wasm --watch`, called over HTTP, changed and rebuilt, and its new
// answer served (serveAndWatch).
func TestKits_NewAnywhere(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("skipped: make unavailable")
	}
	root := t.TempDir()
	require.NotContains(t, root, plugintest.Root())
	exe := filepath.Join(root, "bin", "onex-host")
	copyFile(t, cliBinary(t), exe)
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	require.NoError(t, err)
	// The CLI's compilation cache goes to a temporary XDG_CACHE_HOME; the go command
	// keeps its own build cache (a cold one would cost minutes). GOPROXY is the
	// environment's: the project needs no module from it.
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off",
		"GOCACHE="+strings.TrimSpace(string(gocache)), "XDG_CACHE_HOME="+filepath.Join(root, "cache"),
		"XDG_DATA_HOME="+filepath.Join(root, "data"))
	work := filepath.Join(root, "work")
	require.NoError(t, os.MkdirAll(work, 0o755))
	run := func(t *testing.T, dir string, name string, args ...string) string {
		t.Helper()
		start := time.Now()
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s %s\n%s", name, strings.Join(args, " "), out)
		t.Logf("%s %s: %v", filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
		return string(out)
	}

	for _, tt := range []struct{ lang, name, make, next string }{
		{langGo, "greeter", "test build run", "make test build run"},
		{langC, "cgreet", "test run", "make test run"},
		{langRust, "rgreet", "test run", "make test run"},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			t.Parallel()
			switch tt.lang {
			case langC:
				needClang(t)
			case langRust:
				needRustc(t)
			}
			out := run(t, work, exe, "new", tt.name, "--lang", tt.lang)
			assert.Contains(t, out, "next: cd "+tt.name+" && "+tt.next+"\n")
			dir := filepath.Join(work, tt.name)
			makefile, err := os.ReadFile(filepath.Join(dir, "Makefile"))
			require.NoError(t, err)
			assert.Contains(t, string(makefile), "ONEX_HOST ?= "+exe+"\n")
			if tt.lang == langGo {
				gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
				require.NoError(t, err)
				assert.Contains(t, string(gomod), "replace github.com/onexhost/onex-host => ./onex-host\n")
				require.FileExists(t, filepath.Join(dir, "onex-host", "sdk", "compute.go"))
			}

			out = run(t, dir, "make", strings.Fields(tt.make)...)
			assert.Contains(t, out, `"greeting": "Hello, world!"`)
			if tt.lang != langGo {
				assert.Contains(t, out, "ok: "+tt.name+".wasm")
			}
			out = run(t, dir, exe, "build")
			assert.Contains(t, out, "built "+filepath.Join(dir, tt.name+".wasm")+" ("+tt.lang+", ")
			serveAndWatch(t, exe, dir, tt.lang, tt.name, env, run) // servewatch_e2e_test.go
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(to), 0o755))
	src, err := os.Open(from)
	require.NoError(t, err)
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(dst, src)
	require.NoError(t, err)
	require.NoError(t, dst.Close())
}

func TestBuild_DetectLang(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		lang  string
		wasm  string
	}{
		{name: "go", files: map[string]string{"go.mod": "module x\n", "main.c": ""}, lang: langGo, wasm: "p.wasm"},
		{name: "rust with a package name", files: map[string]string{"Cargo.toml": "[package]\nname = \"my-plugin\"\n"}, lang: langRust, wasm: "my-plugin.wasm"},
		{name: "rust without Cargo.toml", files: map[string]string{"src/lib.rs": ""}, lang: langRust, wasm: "p.wasm"},
		{name: "c", files: map[string]string{"a.c": "", "b.c": ""}, lang: langC, wasm: "p.wasm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "p")
			for name, text := range tt.files {
				require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
			}
			lang, err := detectLang(dir)
			require.NoError(t, err)
			assert.Equal(t, tt.lang, lang)
			assert.Equal(t, tt.wasm, defaultWasmName(dir, lang))
		})
	}
	assert.Equal(t, "my_plugin_1", rustIdent("my-plugin.1"))
	assert.Equal(t, "p9lives", rustIdent("9lives"))
}
