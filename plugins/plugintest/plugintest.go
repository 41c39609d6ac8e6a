// Package plugintest builds this repository's Go plugins for tests and benchmarks, and
// warms a compilation cache shared by every test binary. It is not for plugin authors: it
// finds the sources through the repository layout.
//
// Why the warm cache: wazero compiles a 3 MB standard-Go guest in ~0.5-1 s, but the race
// detector instruments the compiler too, and under -race the same compile takes ~40 s.
// Warm compiles each guest once with the onex-host CLI (built without -race) into
// CacheDir; race-enabled tests then load the compiled code from disk (~1 s under -race).
// The cache is content-addressed by wazero (module hash, wazero version, CPU features),
// so sharing it between tests and runs never serves stale code.
//
// A plugin is built with the standard toolchain (GOOS=wasip1 GOARCH=wasm
// -buildmode=c-shared) into a content-addressed cache under the user's cache directory,
// keyed by the Go version and every source file the plugin depends on in this repository
// (abi/, sdk/, the plugin's directory, go.mod, go.sum). A cache hit costs a directory walk
// and hashing; a miss costs one `go build` (~1-3 s). Safe for concurrent use, also across
// processes: builds land with an atomic rename.
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
	"strings"
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
// Extism's PDK) is built as that module.
func Path(dir string) (string, error) {
	root := Root()
	nested := false
	if _, err := os.Stat(filepath.Join(root, dir, "go.mod")); err == nil {
		nested = true
	}
	key, err := sourceKey(root, dir, nested)
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	name := strings.ReplaceAll(filepath.ToSlash(dir), "/", "_") // unique per source directory
	out := filepath.Join(cache, "onex-host", "testplugins", name+"-"+key+".wasm")
	if _, err := os.Stat(out); err == nil {
		now := time.Now()
		_ = os.Chtimes(out, now, now) // in use: see pruneOtherBuilds
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", tmp, "./"+dir)
	cmd.Dir = root
	if nested {
		cmd = exec.Command("go", "build", "-buildmode=c-shared", "-o", tmp, ".")
		cmd.Dir = filepath.Join(root, dir)
	}
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("plugintest: build %s: %v\n%s", dir, err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	pruneOtherBuilds(out, name)
	return out, nil
}

// otherBuildTTL is how long a build of another source of the same directory is kept
// after its last use: other checkouts (git worktrees, other branches) may still use it.
const otherBuildTTL = time.Hour

// pruneOtherBuilds removes builds of other sources of the plugin name that no test has
// used for otherBuildTTL, keeping the cache from growing without deleting a build that
// another checkout is using right now.
func pruneOtherBuilds(out, name string) {
	old, _ := filepath.Glob(filepath.Join(filepath.Dir(out), name+"-*.wasm"))
	for _, f := range old {
		if f == out {
			continue
		}
		if fi, err := os.Stat(f); err == nil && time.Since(fi.ModTime()) > otherBuildTTL {
			_ = os.Remove(f)
		}
	}
}

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
func CacheDir() string {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	return filepath.Join(cache, "onex-host", "test-compilation-cache")
}

// Warm compiles each .wasm file into CacheDir outside the race detector, by running
// `onex-host inspect` (built without -race) on it. Compiling needs no guest code to run
// beyond the plugin's initialisation.
func Warm(wasmPaths ...string) error {
	// Every rebuilt guest adds ~15-150 MB of compiled code that nothing will read again.
	pruneCache(CacheDir())
	bin := filepath.Join(os.TempDir(), fmt.Sprintf("onex-host-warm-%d", os.Getpid()))
	defer os.Remove(bin)
	if err := BuildCLI(bin); err != nil {
		return err
	}
	for _, p := range wasmPaths {
		cmd := exec.Command(bin, "inspect", "--json", "--cache-dir", CacheDir(), p)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("plugintest: warm %s: %v\n%s", p, err, b)
		}
	}
	return nil
}

// BuildCLI builds the onex-host CLI, without the race detector, into the file bin: for
// tests that run it as a real process (signals, crashes) and for Warm.
func BuildCLI(bin string) error {
	build := exec.Command("go", "build", "-o", bin, "./cmd/onex-host")
	build.Dir = Root()
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("plugintest: build the CLI: %v\n%s", err, b)
	}
	return nil
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

// sourceKey hashes the Go version and every file a plugin build depends on: for a plugin
// of this module, go.mod, go.sum, abi/, sdk/ and its directory; for a nested module, its
// directory's go.mod, go.sum and sources.
func sourceKey(root, dir string, nested bool) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version())
	mods, dirs := []string{"go.mod", "go.sum"}, []string{"abi", "sdk", dir}
	if nested {
		mods, dirs = []string{filepath.Join(dir, "go.mod"), filepath.Join(dir, "go.sum")}, []string{dir}
	}
	for _, f := range mods {
		if err := hashFile(h, root, f); err != nil {
			return "", err
		}
	}
	for _, d := range dirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			rel, _ := filepath.Rel(root, path)
			return hashFile(h, root, rel)
		})
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func hashFile(h interface{ Write([]byte) (int, error) }, root, rel string) error {
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return err
	}
	fmt.Fprintf(h, "%s %d\n", rel, len(b))
	_, err = h.Write(b)
	return err
}
