package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The signal tests run the CLI as a real process: this test binary again, which TestMain
// turns into onex-host (Main with the process's arguments) when stalledEnv is set. Its
// stderr is then a log sink that stalls on the echo fixture's log line, the way a full
// pipe does: the guest blocks inside the host function onex.log, which ignores the call's
// context, so the call cannot be stopped — neither at its deadline nor at a signal.
const (
	stalledEnv    = "ONEX_HOST_TEST_STALLED_STDERR"
	stallMarker   = "echo: computing length"
	stalledNotice = "test: stderr stalled"
)

// stalledMain runs Main as the whole process when stalledEnv is set, and reports whether
// it did; TestMain exits with the code.
func stalledMain() (int, bool) {
	if os.Getenv(stalledEnv) == "" {
		return 0, false
	}
	return Main(os.Args[1:], os.Stdin, os.Stdout, stalledStderr{}), true
}

// stalledStderr passes writes to os.Stderr, except one holding stallMarker: it announces
// it with stalledNotice and then never returns.
type stalledStderr struct{}

func (stalledStderr) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(stallMarker)) {
		_, _ = os.Stderr.WriteString(stalledNotice + "\n")
		select {}
	}
	return os.Stderr.Write(p)
}

// stalledProcess starts onex-host with args in a process of its own whose stderr stalls
// (see stalledStderr), and returns it with its stderr as written so far.
func stalledProcess(t *testing.T, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), stalledEnv+"=1")
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, stderr
}

// waitFor waits until stderr holds s, failing t when its patience runs out.
func waitFor(t *testing.T, stderr *syncBuffer, s string) {
	t.Helper()
	eventually(t, func() bool { return strings.Contains(stderr.String(), s) },
		"waiting for %q; stderr:\n%s", s, stderr)
}

// waitExit waits for cmd to exit, failing t when its patience runs out, and returns its
// exit code.
func waitExit(t *testing.T, cmd *exec.Cmd, stderr *syncBuffer) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			return ee.ExitCode()
		}
		require.NoError(t, err)
		return 0
	case <-time.After(patience(t)):
		t.Fatalf("still running after the signals; stderr:\n%s", stderr)
		return -1
	}
}

// TestMain_StuckCallAndSignals: a call that ignores its cancellation no longer holds the
// process after a signal. run and serve exit with status 1 and a line saying why once
// their shutdown timeout passed (run's --shutdown-timeout; serve's
// limits.shutdown_timeout plus 10 s), or at once at a second signal.
func TestMain_StuckCallAndSignals(t *testing.T) {
	t.Parallel()
	echo := fixture("wat/echo.wasm")
	runArgs := func(shutdown string) []string {
		return []string{"run", echo, "--type", "length", "--data", `"abc"`, "--log-level", "info",
			"--cache-dir", cacheDir, "--data-dir", t.TempDir(), "--shutdown-timeout", shutdown}
	}
	serveArgs := func(addr string) []string {
		return []string{"serve", "--config", writeConfig(t, fmt.Sprintf(
			"listen: %s\ndata_dir: \"\"\ncache_dir: %s\nnats: {mode: \"off\"}\nlog: {level: info}\n"+
				"limits: {shutdown_timeout: 100ms}\nnodes: [{path: %s}]\n", addr, cacheDir, echo))}
	}
	tests := []struct {
		name     string
		serve    bool
		shutdown string // run's --shutdown-timeout
		second   os.Signal
		want     string
	}{
		{name: "run: shutdown timeout", shutdown: "200ms",
			want: "onex-host: still running 200ms after the signal (a call ignores its cancellation): exiting without waiting for it"},
		{name: "run: second signal", shutdown: "1h", second: os.Interrupt,
			want: "onex-host: interrupt again: exiting at once, without waiting for what still runs"},
		{name: "serve: shutdown timeout", serve: true,
			want: "onex-host: still running 10.1s after the signal (a call ignores its cancellation): exiting without waiting for it"},
		{name: "serve: second signal", serve: true, second: syscall.SIGTERM,
			want: "onex-host: terminated again: exiting at once, without waiting for what still runs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var cmd *exec.Cmd
			var stderr *syncBuffer
			if tt.serve {
				addr := freeAddr(t)
				cmd, stderr = stalledProcess(t, serveArgs(addr)...)
				waitReady(t, addr, stderr)
				go func() { // the stuck request: its answer never comes
					resp, err := http.Post("http://"+addr+"/v1/nodes/echo/compute", "application/json",
						strings.NewReader(`{"computation_type":"length","data":"abc"}`))
					if err == nil {
						resp.Body.Close()
					}
				}()
			} else {
				cmd, stderr = stalledProcess(t, runArgs(tt.shutdown)...)
			}
			waitFor(t, stderr, stalledNotice)

			start := time.Now()
			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			if tt.second != nil {
				waitFor(t, stderr, "onex-host: terminated: stopping, for at most")
				require.NoError(t, cmd.Process.Signal(tt.second))
			}
			assert.Equal(t, 1, waitExit(t, cmd, stderr), "stderr:\n%s", stderr)
			assert.Contains(t, stderr.String(), tt.want)
			if tt.second == nil {
				d, err := time.ParseDuration(strings.Fields(strings.TrimPrefix(tt.want, "onex-host: still running "))[0])
				require.NoError(t, err)
				assert.GreaterOrEqual(t, time.Since(start), d, "exited before its shutdown timeout")
			}
		})
	}
}
