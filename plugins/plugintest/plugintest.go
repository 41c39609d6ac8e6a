// Package plugintest builds this repository's Go plugins for tests and benchmarks, and
// warms a compilation cache shared by every test binary. It is not for plugin authors: it
// finds the sources through the repository layout.
//
// Why the warm cache: wazero compiles a 3 MB standard-Go guest in ~0.5-1 s, but the race
// detector instruments the compiler too, and under -race the same compile takes ~40 s.
// Warm compiles each guest once per machine with the onex-host CLI (built without -race)
// into CacheDir; race-enabled tests then load the compiled code from disk (~1 s under
// -race). The cache is content-addressed by wazero (module hash, wazero version, CPU
// features), so sharing it between tests and runs never serves stale code.
//
// A plugin is built once per machine with the standard toolchain (GOOS=wasip1
// GOARCH=wasm -buildmode=c-shared) into a content-addressed directory under the
// temporary directory (see baseDir), keyed by the go command's version and settings, the build's flags and
// every source file the plugin depends on in this repository (abi/, sdk/, the plugin's
// directory, go.mod, go.sum). A hit costs a directory walk and hashing; a miss one
// `go build` (~1-3 s). Safe for concurrent use, also across processes (`go test` runs
// packages in parallel): builds and warms run under a file lock, so test binaries
// started together wait for one build instead of each running their own, and land with
// an atomic rename.
package plugintest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Root returns the repository root (the directory holding go.mod).
func Root() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("plugintest: cannot locate the source file")
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// Path builds the plugin in dir (relative to the repository root, e.g. "plugins/core" or
// "plugins/testdata/loop") if needed and returns the path of its .wasm file. A dir with a
// go.mod of its own (a plugin depending on modules onex-host does not need, such as
// Extism's PDK) is built as that module. Safe for concurrent use, also by test binaries
// running at the same time: they share one build (see builder).
func Path(dir string) (string, error) { return shared().path(dir) }

// Bytes builds the plugin in dir if needed and returns its bytes, failing tb on error.
func Bytes(tb testing.TB, dir string) []byte {
	tb.Helper()
	path, err := Path(dir)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// CacheDir returns the compilation cache directory shared by the tests.
func CacheDir() string { return filepath.Join(baseDir(), "compilation-cache") }

// baseDir holds what the tests keep between runs (built plugins, the CLI, the warm
// compilation cache): onex-host-tests-<uid> under the temporary directory, so that a test
// run leaves the user's cache directory as it found it.
func baseDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("onex-host-tests-%d", os.Getuid()))
}

// init points every host and onex-host process a test binary starts (they inherit the
// environment) at the shared warm cache by default, without a size limit: it holds every
// guest of every package, and pruning it to the default would make the suite recompile
// under the race detector.
func init() {
	os.Setenv("ONEX_HOST_CACHE_DIR", CacheDir())
	os.Setenv("ONEX_HOST_CACHE_MAX", "-1")
}

// Warm compiles each .wasm file into CacheDir outside the race detector, by running
// `onex-host inspect` (built without -race, once per machine, see BuildCLI) on it.
// Compiling needs no guest code to run beyond the plugin's initialisation. A file already warmed (by any
// process, see warmMark) is skipped, so on a warm machine Warm builds nothing.
func Warm(wasmPaths ...string) error { return warmInto(CacheDir(), wasmPaths...) }

// warmInto is Warm with the compilation cache in dir.
func warmInto(dir string, wasmPaths ...string) error {
	var todo, marks []string
	for _, p := range wasmPaths {
		mark, err := warmMark(dir, p)
		if err != nil {
			return err
		}
		if _, err := os.Stat(mark); err != nil {
			todo, marks = append(todo, p), append(marks, mark)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	// Every rebuilt guest adds ~15-150 MB of compiled code that nothing will read again.
	pruneCache(dir)
	if err := os.MkdirAll(filepath.Join(dir, "warmed"), 0o755); err != nil {
		return err
	}
	for i, p := range todo {
		if err := warmOne(dir, p, marks[i]); err != nil {
			return err
		}
	}
	return nil
}

// warmOne compiles the module at path into dir unless mark exists, then creates
// mark. Test binaries warming the same module wait for each other (lockFile) and compile
// it once.
func warmOne(dir, path, mark string) error {
	unlock, err := lockFile(mark + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(mark); err == nil {
		return nil
	}
	bin, err := shared().cli()
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "inspect", "--json", "--cache-dir", dir, path)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("plugintest: warm %s: %v\n%s", path, err, b)
	}
	return os.WriteFile(mark, []byte(path+"\n"), 0o644)
}

// warmMark returns the file recording that the module at path has been warmed: named by
// the module's hash, the CLI's build key (the host's sources decide how a module is
// rewritten and compiled) and what else of wazero's cache key a test binary knows
// (wazero's version, the platform). It lives in the cache's dir, so pruneCache ages it
// out with the compiled code. A stale mark (its code pruned first) only costs a compile.
func warmMark(dir, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("plugintest: warm: %w", err)
	}
	cli, err := shared().cliKey()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write(b)
	fmt.Fprintln(h, cli, wazeroCacheVersion(), runtime.GOOS, runtime.GOARCH)
	return filepath.Join(dir, "warmed", hex.EncodeToString(h.Sum(nil))[:32]), nil
}

// BuildCLI puts the onex-host CLI, built without the race detector, at the file bin: for
// tests that run it as a real process (signals, crashes). Its wazero reads and writes
// the same compilation cache entries as the test binaries' (see wazeroCacheVersion).
// The build itself happens once per machine and source state (shared by every test
// binary, like Path's); bin is a hard link to it, or a copy where linking fails.
func BuildCLI(bin string) error {
	built, err := shared().cli()
	if err != nil {
		return err
	}
	_ = os.Remove(bin)
	if os.Link(built, bin) == nil {
		return nil
	}
	b, err := os.ReadFile(built)
	if err != nil {
		return err
	}
	return os.WriteFile(bin, b, 0o755)
}

// maxCacheBytes bounds CacheDir between test runs.
const maxCacheBytes = 2 << 30

// pruneCache removes the files under dir older than an hour once dir holds more than
// maxCacheBytes. It never removes a directory or a recent file, so test binaries running
// at the same time keep working: wazero treats a missing entry as a miss and reads an
// entry it already opened to the end.
func pruneCache(dir string) {
	type file struct {
		path string
		info fs.FileInfo
	}
	var files []file
	var total int64
	_ = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			if info, err := e.Info(); err == nil {
				files = append(files, file{path, info})
				total += info.Size()
			}
		}
		return nil
	})
	if total <= maxCacheBytes {
		return
	}
	cutoff := time.Now().Add(-time.Hour)
	for _, f := range files {
		if f.info.ModTime().Before(cutoff) {
			_ = os.Remove(f.path)
		}
	}
}

// Built builds the plugin in dir if needed, warms CacheDir with it (see Warm) and
// returns the path of its .wasm file, failing tb on error.
func Built(tb testing.TB, dir string) string {
	tb.Helper()
	path, err := Path(dir)
	if err == nil {
		err = Warm(path)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// Fixture returns the bytes of a prebuilt fixture under plugins/testdata (for example
// "wat/echo.wasm"), failing tb if it is missing.
func Fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(Root(), "plugins", "testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
