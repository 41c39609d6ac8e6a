package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// freeAddr returns a loopback address with a port nothing listens on.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// waitReady waits until the server at addr reports ready, failing t with the server's
// log when its patience runs out.
func waitReady(t *testing.T, addr string, log fmt.Stringer) {
	t.Helper()
	eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, "not ready: %s", log)
}

// syncBuffer is a bytes.Buffer safe for the server's log writer and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// inFlight waits until an effect wrote its first file f<i> in dir: the shutdown that
// follows finds effects started, instead of guessing how long that takes.
func inFlight(t *testing.T, dir string) {
	t.Helper()
	eventually(t, func() bool {
		written, _ := filepath.Glob(filepath.Join(dir, "f*"))
		return len(written) > 0
	}, "no effect started")
}

func TestServe_ShutdownWithRequestsInFlight(t *testing.T) {
	t.Parallel()
	effects := goPlugin(t, "plugins/testdata/effects")
	dir := t.TempDir()
	addr := freeAddr(t)
	sigterm, logs := serveInProcess(t, fmt.Sprintf(`
listen: %s
data_dir: ""
cache_dir: %s
limits: {shutdown_timeout: 100ms}
nodes:
  - path: %s
    max_instances: 16
    grants: {paths: [%s], hosts: [example.com], kv: true, events: true}
`, addr, plugintest.CacheDir(), effects, dir))

	// 24 effects in flight, each writing a file, sleeping, then writing a key.
	const n = 24
	type result struct {
		status int
		out    struct {
			abi.EffectOutput
			Error *struct{ Code string }
		}
		err error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			script, _ := json.Marshal(map[string]any{"steps": []map[string]any{
				{"op": "fs.write", "path": filepath.Join(dir, fmt.Sprintf("f%d", i)), "value": "v"},
				{"op": "sleep", "sleep_ms": 30 * (i % 4)},
				{"op": "kv.put", "key": fmt.Sprintf("k%d", i), "value": "v"},
			}})
			in, _ := json.Marshal(abi.EffectInput{EffectType: "script", OperationData: script})
			resp, err := http.Post("http://"+addr+"/v1/nodes/effects/effect", "application/json", bytes.NewReader(in))
			if err != nil {
				results[i].err = err
				return
			}
			defer resp.Body.Close()
			results[i].status = resp.StatusCode
			results[i].err = json.NewDecoder(resp.Body).Decode(&results[i].out)
		})
	}
	inFlight(t, dir)
	sigterm() // returns once serve exited cleanly
	wg.Wait()

	for i, r := range results {
		_, ferr := os.Stat(filepath.Join(dir, fmt.Sprintf("f%d", i)))
		switch {
		case r.err != nil:
			// Refused before it started (the listener was closing): nothing happened.
			assert.Error(t, ferr, "effect %d never ran: no file", i)
		case r.status == 200:
			assert.Equal(t, abi.TransactionCommitted, r.out.TransactionState)
			assert.NoError(t, ferr, "effect %d committed", i)
		default:
			assert.NotNil(t, r.out.Error, "effect %d: a failure is a structured error", i)
			assert.NotEqual(t, abi.TransactionCommitted, r.out.TransactionState)
			assert.Error(t, ferr, "effect %d did not commit: its file was rolled back", i)
		}
	}
	assert.Regexp(t, regexp.MustCompile(`msg=stopped .*transactions_open=0`), logs.String(), "no transaction left open")
}

func TestServe_InvalidConfig(t *testing.T) {
	cfgPath := writeConfig(t, "listen: 127.0.0.1:0\nnodes:\n  - path: /nope.wasm\n")
	code, _, stderr := cli(t, "", "serve", "--config", cfgPath)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "nodes[0]")
}

// TestServe_SIGTERM runs the real binary and sends it SIGTERM with effects in flight: it
// exits 0, every response is complete or a clean error, and no transaction stays open.
func TestServe_SIGTERM(t *testing.T) {
	t.Parallel()
	bin := cliBinary(t)
	effects := goPlugin(t, "plugins/testdata/effects")
	dir := t.TempDir()
	addr := freeAddr(t)
	cfgPath := writeConfig(t, fmt.Sprintf(`
listen: %s
data_dir: ""
cache_dir: %s
limits: {shutdown_timeout: 2s}
nodes:
  - path: %s
    grants: {paths: [%s], hosts: [example.com], kv: true, events: true}
`, addr, plugintest.CacheDir(), effects, dir))
	var stderr syncBuffer
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitReady(t, addr, &stderr)

	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			script, _ := json.Marshal(map[string]any{"steps": []map[string]any{
				{"op": "fs.write", "path": filepath.Join(dir, fmt.Sprintf("f%d", i)), "value": "v"},
				{"op": "sleep", "sleep_ms": 200},
			}})
			in, _ := json.Marshal(abi.EffectInput{EffectType: "script", OperationData: script})
			resp, err := http.Post("http://"+addr+"/v1/nodes/effects/effect", "application/json", bytes.NewReader(in))
			if err == nil {
				codes[i] = resp.StatusCode
				resp.Body.Close()
			}
		})
	}
	inFlight(t, dir)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	wg.Wait()
	require.NoError(t, cmd.Wait(), "exit status 0 after SIGTERM; stderr:\n%s", &stderr)
	for i, code := range codes {
		_, err := os.Stat(filepath.Join(dir, fmt.Sprintf("f%d", i)))
		if code == 200 {
			assert.NoError(t, err, "effect %d committed", i)
		} else {
			assert.Error(t, err, "effect %d (status %d) left nothing behind", i, code)
		}
	}
	assert.Contains(t, stderr.String(), "transactions_open=0")
}

// TestServe_NodeFailsToLoad: a node that does not load fails serve at the start, exit
// status 2 with the reason, instead of serving unready forever.
func TestServe_NodeFailsToLoad(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad.wasm")
	require.NoError(t, os.WriteFile(bad, []byte("not wasm"), 0o644))
	core := goPlugin(t, "plugins/core")
	tests := []struct {
		name  string
		nodes string
		want  string
	}{
		{name: "not a module", nodes: fmt.Sprintf("[{path: %s}]", bad), want: bad},
		{name: "name taken", nodes: fmt.Sprintf("[{path: %s, name: calc}, {path: %s, name: calc}]", core, fixture("wat/versioned1.wasm")),
			want: `a node named "calc" is already loaded`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := writeConfig(t, fmt.Sprintf("listen: %s\ndata_dir: \"\"\ncache_dir: %s\nnodes: %s\n",
				freeAddr(t), plugintest.CacheDir(), tt.nodes))
			code, _, stderr := cli(t, "", "serve", "--config", cfg)
			assert.Equal(t, 2, code, stderr)
			assert.Contains(t, stderr, tt.want)
		})
	}
}

// TestServe_NameAlias: nodes[].name serves the node under that name.
func TestServe_NameAlias(t *testing.T) {
	t.Parallel()
	core := goPlugin(t, "plugins/core")
	addr := freeAddr(t)
	stop, logs := serveInProcess(t, fmt.Sprintf("listen: %s\ndata_dir: \"\"\ncache_dir: %s\nnodes: [{path: %s, name: calc}]\n",
		addr, plugintest.CacheDir(), core))
	defer stop()
	resp, err := http.Post("http://"+addr+"/v1/nodes/calc/compute", "application/json",
		bytes.NewReader([]byte(`{"computation_type":"sum_numbers","data":[1,2,3]}`)))
	require.NoError(t, err)
	defer resp.Body.Close()
	var out abi.ComputeOutput
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	assert.Equal(t, 200, resp.StatusCode, "%s", logs)
	assert.Equal(t, "6", string(out.Result))
}
