package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// soak runs the long variants: the whole crash matrix and the large batch sizes. The
// default sizes keep every code path covered at a cost CI pays on every change; -soak
// is for a change to the journal, recovery or batch code (see CONTRIBUTING.md).
var soak = flag.Bool("soak", false, "run the full crash matrix and the large batch sizes")

// What this test binary builds once and shares: the CLI (without -race, for the tests
// that run it as a real process) and the Go plugins, each warmed into the shared
// compilation cache. Both are built on first use, so that `go test -run X` pays only for
// what X needs. sharedDir holds the CLI and is removed by TestMain.
var (
	sharedDir string

	cliOnce = sync.OnceValues(func() (string, error) {
		bin := filepath.Join(sharedDir, "onex-host")
		return bin, plugintest.BuildCLI(bin)
	})

	pluginsMu sync.Mutex
	plugins   = map[string]func() (string, error){} // by source directory; guarded by pluginsMu
)

// setupShared creates sharedDir; the returned func removes it.
func setupShared() (func(), error) {
	dir, err := os.MkdirTemp("", "onex-host-test-")
	if err != nil {
		return nil, err
	}
	sharedDir = dir
	return func() { _ = os.RemoveAll(dir) }, nil
}

// cliBinary returns the onex-host CLI built once for this test binary, failing t if
// the build fails.
func cliBinary(t testing.TB) string {
	t.Helper()
	bin, err := cliOnce()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// goPlugin builds the Go plugin in dir (as plugintest.Path does) and warms the shared
// compilation cache with it, once for this test binary, and returns its .wasm path.
// Unlike plugintest.Built, a second call costs nothing: no CLI build, no compile.
func goPlugin(t testing.TB, dir string) string {
	t.Helper()
	pluginsMu.Lock()
	build, ok := plugins[dir]
	if !ok {
		build = sync.OnceValues(func() (string, error) { return buildAndWarm(dir) })
		plugins[dir] = build
	}
	pluginsMu.Unlock()
	path, err := build()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// buildAndWarm builds the plugin in dir and compiles it into the shared cache with the
// CLI built without -race (see plugintest's package comment for why).
func buildAndWarm(dir string) (string, error) {
	path, err := plugintest.Path(dir)
	if err != nil {
		return "", err
	}
	return path, warm(path)
}

// warm compiles the .wasm file at path into the shared cache, outside the race detector.
func warm(path string) error {
	bin, err := cliOnce()
	if err != nil {
		return err
	}
	if b, err := exec.Command(bin, "inspect", "--json", "--cache-dir", plugintest.CacheDir(), path).CombinedOutput(); err != nil {
		return fmt.Errorf("warm %s: %v\n%s", path, err, b)
	}
	return nil
}

// defaultPatience is how long a wait lasts when the test has no deadline (go test
// -timeout 0).
const defaultPatience = 10 * time.Minute

// patience returns how long t may still wait for something it needs: the time left
// until t's deadline (go test -timeout) less a margin to report what it waited for, or
// defaultPatience. Waits derived from it fail only when the test would time out anyway,
// never because the machine is slow.
func patience(t testing.TB) time.Duration {
	t.Helper()
	type deadliner interface{ Deadline() (time.Time, bool) }
	d, ok := t.(deadliner)
	if !ok {
		return defaultPatience
	}
	deadline, ok := d.Deadline()
	if !ok {
		return defaultPatience
	}
	left := time.Until(deadline)
	margin := max(left/10, 5*time.Second)
	if left-margin < time.Second {
		return time.Second
	}
	return left - margin
}

// eventually polls cond until it holds, and fails t with msgAndArgs (a format and its
// arguments, evaluated when it fails) if it still does not once patience(t) has passed.
// It polls every millisecond at first, backing off to 50 ms.
func eventually(t testing.TB, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	p := patience(t)
	deadline := time.Now().Add(p)
	for wait := time.Millisecond; !cond(); wait = min(2*wait, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v: %s", p, message(msgAndArgs))
		}
		time.Sleep(wait)
	}
}

// message formats testify-style message arguments.
func message(msgAndArgs []any) string {
	switch {
	case len(msgAndArgs) == 0:
		return "condition never held"
	case len(msgAndArgs) == 1:
		return fmt.Sprint(msgAndArgs[0])
	}
	if format, ok := msgAndArgs[0].(string); ok {
		return fmt.Sprintf(format, msgAndArgs[1:]...)
	}
	return fmt.Sprint(msgAndArgs...)
}
