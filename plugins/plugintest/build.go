package plugintest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// wasmEnv and wasmFlags are how every plugin is built; both are part of its cache key.
var (
	wasmEnv   = []string{"GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0"}
	wasmFlags = []string{"-buildmode=c-shared"}
)

// builder builds plugins into a content-addressed directory shared by every test binary
// on the machine: a build's file name holds a hash of everything the build depends on,
// so a hit is always current and a source change makes a new name. It is safe for
// concurrent use, also across processes: a build runs under an exclusive file lock
// (lockFile), so test binaries started together build each plugin once, and lands with
// an atomic rename, so no reader ever sees a partial file.
type builder struct {
	root  string   // the repository root
	dir   string   // where builds go
	deps  []string // directories, relative to root, every in-module plugin depends on
	mods  []string // files, relative to root, every in-module plugin depends on
	toolc func() (string, error)
	// builds counts the `go build` runs of this builder, for tests.
	builds atomic.Int64

	cliKeyOnce sync.Once
	cliKeyVal  string
	cliKeyErr  error
}

// shared is the builder of Path: the repository's plugins, under baseDir.
var shared = sync.OnceValue(func() *builder {
	return &builder{root: Root(), dir: filepath.Join(baseDir(), "plugins"),
		deps: []string{"abi", "sdk"}, mods: []string{"go.mod", "go.sum"}, toolc: toolchain}
})

// toolchain describes the go command that builds the plugins (not the one that built the
// test binary: GOTOOLCHAIN may pick another), with the settings that change its output.
var toolchain = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "env", "GOVERSION", "GOFLAGS", "GOEXPERIMENT").Output()
	if err != nil {
		return "", fmt.Errorf("plugintest: go env: %w", err)
	}
	return string(out), nil
})

// path builds the plugin in dir (relative to b.root) unless a build of its current
// sources exists, and returns the build's path.
func (b *builder) path(dir string) (string, error) {
	nested := false
	if _, err := os.Stat(filepath.Join(b.root, dir, "go.mod")); err == nil {
		nested = true
	}
	key, err := b.key(dir, nested)
	if err != nil {
		return "", err
	}
	name := strings.ReplaceAll(filepath.ToSlash(dir), "/", "_") // unique per source directory
	return b.cached(name, key, ".wasm", func(tmp string) *exec.Cmd {
		args := append(append([]string{"build"}, wasmFlags...), "-o", tmp, "./"+dir)
		cmd := exec.Command("go", args...)
		cmd.Dir = b.root
		if nested {
			args[len(args)-1] = "."
			cmd = exec.Command("go", args...)
			cmd.Dir = filepath.Join(b.root, dir)
		}
		cmd.Env = append(os.Environ(), wasmEnv...)
		return cmd
	})
}

// cli builds the onex-host CLI without the race detector, reporting to wazero the version
// this process's wazero reports (see wazeroCacheVersion), unless a build of the module's
// current sources exists, and returns the build's path. Its key covers every non-test
// Go file of the module (nested modules and testdata aside), a superset of the CLI's.
func (b *builder) cli() (string, error) {
	key, err := b.cliKey()
	if err != nil {
		return "", err
	}
	return b.cached("onex-host", key, "", func(tmp string) *exec.Cmd {
		cmd := exec.Command("go", "build", "-ldflags=-X "+wazeroVersionVar+"="+wazeroCacheVersion(), "-o", tmp, "./cmd/onex-host")
		cmd.Dir = b.root
		cmd.Env = append(os.Environ(), cliEnv...)
		return cmd
	})
}

// cliKey is the CLI build's key, computed once per builder.
func (b *builder) cliKey() (string, error) {
	b.cliKeyOnce.Do(func() { b.cliKeyVal, b.cliKeyErr = b.computeCLIKey() })
	return b.cliKeyVal, b.cliKeyErr
}

func (b *builder) computeCLIKey() (string, error) {
	h := sha256.New()
	tc, err := b.toolc()
	if err != nil {
		return "", err
	}
	fmt.Fprintln(h, tc, runtime.GOOS, runtime.GOARCH, cliEnv, wazeroCacheVersion())
	for _, f := range b.mods {
		if err := hashFile(h, b.root, f); err != nil {
			return "", err
		}
	}
	err = filepath.WalkDir(b.root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if path == b.root {
				return nil
			}
			if n := e.Name(); n == "testdata" || n == "bin" || strings.HasPrefix(n, ".") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // a nested module
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(b.root, path)
		return hashFile(h, b.root, rel)
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// wazeroVersionVar is the variable wazero reads its version from before it asks the build
// information: its compilation cache keeps each version's code in a directory of its own
// (wazero-<version>-<arch>-<os>) and checks the version in every entry.
const wazeroVersionVar = "github.com/tetratelabs/wazero/internal/version.version"

// wazeroCacheVersion is the version wazero reports inside this process, found as wazero
// finds it: a test binary's build information lists no dependencies, so there wazero
// says "dev" where the CLI, a real command, says "v1.12.0". The CLI is built with this
// version (wazeroVersionVar), so that what it compiles into CacheDir lands in the
// directory the tests read and not in one that no test binary ever opens.
var wazeroCacheVersion = sync.OnceValue(func() string {
	v := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if strings.Contains(d.Path, "github.com/tetratelabs/wazero") {
				v = d.Version
			}
		}
		if v == "" || v == "(devel)" {
			v = info.Main.Version
		}
	}
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	return v
})

// cliEnv is how the CLI is built: no cgo, and none of the caller's GOFLAGS (-race
// among them would make every warm compile as slow as the tests').
var cliEnv = []string{"CGO_ENABLED=0", "GOFLAGS="}

// cached returns b.dir's file name-key+ext, first running the command build returns to
// make it at the temporary path it is given, unless it exists. Callers in any process
// wait for one build (lockFile); the file lands with an atomic rename.
func (b *builder) cached(name, key, ext string, build func(tmp string) *exec.Cmd) (string, error) {
	out := filepath.Join(b.dir, name+"-"+key+ext)
	if hit(out) {
		return out, nil
	}
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(out + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if hit(out) { // built by another test binary while this one waited for the lock
		return out, nil
	}
	n := b.builds.Add(1)
	tmp := fmt.Sprintf("%s.%d-%d.tmp", out, os.Getpid(), n) // unique also where lockFile cannot lock
	if msg, err := build(tmp).CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("plugintest: build %s: %v\n%s", name, err, msg)
	}
	if err := os.Rename(tmp, out); err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	pruneOtherBuilds(out, name, ext)
	return out, nil
}

// hit reports whether the build out exists, and marks it in use (see pruneOtherBuilds).
func hit(out string) bool {
	if _, err := os.Stat(out); err != nil {
		return false
	}
	now := time.Now()
	_ = os.Chtimes(out, now, now)
	return true
}

// otherBuildTTL is how long a build of another source of the same directory is kept
// after its last use: other checkouts (git worktrees, other branches) may still use it.
const otherBuildTTL = time.Hour

// pruneOtherBuilds removes builds of other sources of the plugin name, and their lock
// files, that no test has used for otherBuildTTL, keeping the directory from growing
// without deleting a build that another checkout is using right now.
func pruneOtherBuilds(out, name, ext string) {
	old, _ := filepath.Glob(filepath.Join(filepath.Dir(out), name+"-*"+ext))
	for _, f := range old {
		if f == out || strings.HasSuffix(f, ".lock") || strings.HasSuffix(f, ".tmp") {
			continue
		}
		if fi, err := os.Stat(f); err == nil && time.Since(fi.ModTime()) > otherBuildTTL {
			_ = os.Remove(f)
			_ = os.Remove(f + ".lock")
		}
	}
}

// key hashes everything a build of dir depends on: the toolchain and its settings, the
// build's environment and flags, and every source file; for a plugin of this module,
// b.mods, b.deps and its directory; for a nested module, its directory's go.mod, go.sum
// and sources.
func (b *builder) key(dir string, nested bool) (string, error) {
	h := sha256.New()
	if b.toolc != nil {
		tc, err := b.toolc()
		if err != nil {
			return "", err
		}
		fmt.Fprintln(h, tc)
	}
	fmt.Fprintln(h, wasmEnv, wasmFlags)
	mods, dirs := b.mods, append(append([]string(nil), b.deps...), dir)
	if nested {
		mods, dirs = []string{filepath.Join(dir, "go.mod"), filepath.Join(dir, "go.sum")}, []string{dir}
	}
	for _, f := range mods {
		if err := hashFile(h, b.root, f); err != nil && !(nested && errors.Is(err, fs.ErrNotExist)) {
			return "", err
		}
	}
	for _, d := range dirs {
		err := filepath.WalkDir(filepath.Join(b.root, d), func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			rel, _ := filepath.Rel(b.root, path)
			return hashFile(h, b.root, rel)
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
