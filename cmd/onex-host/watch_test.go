package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// TestWatcher_Run drives the watcher's loop with events in a synctest bubble (fake
// time): a file is applied once, watchQuiet after its last event and only once its size
// stopped changing, whatever the number of events.
func TestWatcher_Run(t *testing.T) {
	t.Parallel()
	const q = watchQuiet
	tests := []struct {
		name string
		// steps run in order; each starts at the fake time after the previous ones.
		steps func(t *testing.T, s *watchSim)
	}{
		{name: "one event", steps: func(t *testing.T, s *watchSim) {
			s.event(t, "a.wasm", "v2")
			s.after(t, q-time.Millisecond)
			s.applied(t)
			s.after(t, time.Millisecond)
			s.applied(t, "a.wasm")
		}},
		{name: "a burst of writes is one load, after the last", steps: func(t *testing.T, s *watchSim) {
			for i := range 5 {
				s.event(t, "a.wasm", strings.Repeat("x", i+1))
				s.after(t, q/2)
			}
			s.applied(t)
			s.after(t, q/2)
			s.applied(t, "a.wasm")
		}},
		{name: "a write without an event delays the load", steps: func(t *testing.T, s *watchSim) {
			s.event(t, "a.wasm", "v2")
			s.after(t, q/2)
			s.write(t, "a.wasm", "v2, longer: written through a memory map")
			s.after(t, q/2)
			s.applied(t) // the stamp changed: another quiet period
			s.after(t, q)
			s.applied(t, "a.wasm")
		}},
		{name: "files settle independently, in path order", steps: func(t *testing.T, s *watchSim) {
			s.event(t, "b.wasm", "b")
			s.after(t, q/2)
			s.event(t, "a.wasm", "a")
			s.event(t, "c.wasm", "c")
			s.after(t, q/2)
			s.applied(t, "b.wasm")
			s.event(t, "b.wasm", "b2")
			s.after(t, q/2)
			s.applied(t, "b.wasm", "a.wasm", "c.wasm")
			s.after(t, q/2)
			s.applied(t, "b.wasm", "a.wasm", "c.wasm", "b.wasm")
		}},
		{name: "a removed file settles too", steps: func(t *testing.T, s *watchSim) {
			s.event(t, "a.wasm", "v2")
			require.NoError(t, os.Remove(filepath.Join(s.dir, "a.wasm")))
			s.events <- fsnotify.Event{Name: filepath.Join(s.dir, "a.wasm"), Op: fsnotify.Remove}
			s.after(t, q)
			s.applied(t, "a.wasm")
		}},
		{name: "lost events are logged, the loop goes on", steps: func(t *testing.T, s *watchSim) {
			s.errs <- errors.New("queue overflow")
			s.event(t, "a.wasm", "v2")
			s.after(t, q)
			s.applied(t, "a.wasm")
			assert.Contains(t, s.logs.String(), `msg="watch: events lost" error="queue overflow"`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				s := &watchSim{dir: t.TempDir(), events: make(chan fsnotify.Event), errs: make(chan error), logs: &syncBuffer{}}
				w := &watcher{log: slog.New(slog.NewTextHandler(s.logs, nil)), quiet: q}
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() {
					defer close(done)
					w.run(ctx, s.events, s.errs, func(_ context.Context, path string) {
						s.mu.Lock()
						defer s.mu.Unlock()
						rel, err := filepath.Rel(s.dir, path)
						assert.NoError(t, err)
						s.got = append(s.got, rel)
					})
				}()
				tt.steps(t, s)
				cancel()
				<-done
			})
		})
	}
}

// watchSim is a directory, the events a watcher gets about it and the paths it applied.
type watchSim struct {
	dir    string
	events chan fsnotify.Event
	errs   chan error
	logs   *syncBuffer

	mu  sync.Mutex // guards got
	got []string   // applied paths, relative to dir
}

// write writes text into the file name, without an event.
func (s *watchSim) write(t *testing.T, name, text string) {
	require.NoError(t, os.WriteFile(filepath.Join(s.dir, name), []byte(text), 0o644))
}

// event writes text into the file name and sends the event for it.
func (s *watchSim) event(t *testing.T, name, text string) {
	s.write(t, name, text)
	s.events <- fsnotify.Event{Name: filepath.Join(s.dir, name), Op: fsnotify.Write}
}

// after lets d pass on the fake clock and waits until the watcher is idle.
func (s *watchSim) after(t *testing.T, d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// applied asserts the paths applied so far.
func (s *watchSim) applied(t *testing.T, want ...string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Equal(t, want, append([]string(nil), s.got...))
}

// TestServe_Watch: serve <dir> --watch reloads a node whose file changes (the new
// digest in /v1/nodes, the new answer, one log line naming the old and new digests),
// refuses a broken file while the old version keeps serving, and loads a new plugin
// file of the directory.
func TestServe_Watch(t *testing.T) {
	t.Parallel()
	wat := filepath.Join(plugintest.Root(), "plugins", "testdata", "wat")
	dir := t.TempDir()
	plugin := filepath.Join(dir, "versioned.wasm")
	copyFile(t, filepath.Join(wat, "versioned1.wasm"), plugin)

	stdout, logs := &syncBuffer{}, &syncBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: stdout, stderr: logs}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		done <- e.execute(ctx, []string{"serve", dir, "--watch", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()})
	}()
	defer func() {
		cancel()
		assert.Equal(t, exitOK, <-done, "serve exits cleanly: %s", logs)
	}()
	var base string
	eventually(t, func() bool {
		m := regexp.MustCompile(`serving on (http://\S+)\n`).FindStringSubmatch(stdout.String())
		if m != nil {
			base = m[1]
		}
		return m != nil && strings.Contains(logs.String(), `msg="watching plugin files`)
	}, "not serving: %s", logs)
	assert.Contains(t, stdout.String(), "  versioned (compute): POST "+base+"/v1/nodes/versioned/compute\n")
	v1, v2 := digestOf(t, filepath.Join(wat, "versioned1.wasm")), digestOf(t, filepath.Join(wat, "versioned2.wasm"))
	assert.Equal(t, v1, nodeDigests(t, base)["versioned"])
	assert.Equal(t, "1", computeDefault(t, base, "versioned"))

	// Rewritten in place, as a compiler does.
	b, err := os.ReadFile(filepath.Join(wat, "versioned2.wasm"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(plugin, b, 0o644))
	eventually(t, func() bool { return nodeDigests(t, base)["versioned"] == v2 }, "not reloaded: %s", logs)
	assert.Equal(t, "2", computeDefault(t, base, "versioned"))
	// The watcher's line comes once the old version has closed, after the new one answers.
	reloaded := `msg="watch: node reloaded from its changed file" node=versioned path=` + plugin + ` change="` + v1 + " → " + v2 + `"`
	eventually(t, func() bool { return strings.Contains(logs.String(), reloaded) }, "no reload line: %s", logs)

	// A broken file is refused; version 2 keeps serving.
	require.NoError(t, os.WriteFile(plugin, []byte("not wasm"), 0o644))
	eventually(t, func() bool {
		return strings.Contains(logs.String(), `msg="watch: changed plugin file refused; the old version keeps serving" node=versioned`)
	},
		"not refused: %s", logs)
	assert.Equal(t, v2, nodeDigests(t, base)["versioned"])
	assert.Equal(t, "2", computeDefault(t, base, "versioned"))

	// A new plugin in the directory, moved in whole.
	tmp := filepath.Join(t.TempDir(), "echo.wasm")
	copyFile(t, filepath.Join(wat, "echo.wasm"), tmp)
	require.NoError(t, os.Rename(tmp, filepath.Join(dir, "echo.wasm")))
	eventually(t, func() bool { return nodeDigests(t, base)["echo"] != "" }, "echo not loaded: %s", logs)
	eventually(t, func() bool { return strings.Contains(logs.String(), `msg="watch: new node loaded" node=echo`) }, "no line for echo: %s", logs)
	assert.Equal(t, "2", computeDefault(t, base, "versioned"))
}

func digestOf(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// nodeDigests is GET /v1/nodes: each node's digest by name.
func nodeDigests(t *testing.T, base string) map[string]string {
	t.Helper()
	resp, err := http.Get(base + "/v1/nodes")
	require.NoError(t, err)
	defer resp.Body.Close()
	var nodes []struct{ Name, Digest string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&nodes))
	out := make(map[string]string, len(nodes))
	for _, n := range nodes {
		out[n.Name] = n.Digest
	}
	return out
}

// computeDefault posts the default computation to the node and returns its result.
func computeDefault(t *testing.T, base, node string) string {
	t.Helper()
	resp, err := http.Post(base+"/v1/nodes/"+node+"/compute", "application/json", strings.NewReader(`{"computation_type":"default"}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	var out struct{ Result json.RawMessage }
	require.NoError(t, json.Unmarshal(b, &out))
	return string(out.Result)
}

// TestServe_PluginArgs: plugin arguments are checked before anything starts.
func TestServe_PluginArgs(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, "listen: 127.0.0.1:0\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "with --config", args: []string{"serve", "--config", cfg, fixture("wat/echo.wasm")},
			want: "serve: plugin arguments and --config do not mix: list the plugins under nodes in " + cfg},
		{name: "missing file", args: []string{"serve", filepath.Join(t.TempDir(), "nope.wasm")}, want: "nope.wasm: no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := cli(t, "", tt.args...)
			assert.Equal(t, exitMisuse, code)
			assert.Contains(t, stderr, tt.want)
		})
	}
}
