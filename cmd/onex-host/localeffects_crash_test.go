package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// TestCrash_LocalEffectsOncePerOperationID: `serve` without a cluster deduplicates
// effects by operation id on its journal, across SIGKILL. An effect that committed and
// answered, then the process killed (no graceful close), is answered again after the
// restart without running (the file changed since stays changed); an effect killed before
// its commit is rolled back by the restart's recovery, and its repeat runs.
func TestCrash_LocalEffectsOncePerOperationID(t *testing.T) {
	t.Parallel()
	bin := cliBinary(t)
	effects := goPlugin(t, "plugins/testdata/effects")
	dataDir, dir := t.TempDir(), t.TempDir()
	addr := freeAddr(t)
	cfgPath := writeConfig(t, fmt.Sprintf(`
listen: %s
data_dir: %s
cache_dir: %s
nats: {mode: off}
nodes:
  - path: %s
    grants: {paths: [%s], hosts: [example.com], kv: true, events: true}
`, addr, dataDir, plugintest.CacheDir(), effects, dir))
	start := func() (*exec.Cmd, *syncBuffer) {
		var stderr syncBuffer
		cmd := exec.Command(bin, "serve", "--config", cfgPath)
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		waitReady(t, addr, &stderr)
		return cmd, &stderr
	}
	post := func(opID string, steps ...map[string]any) (int, string, bool) {
		script, err := json.Marshal(map[string]any{"steps": steps})
		require.NoError(t, err)
		in, err := json.Marshal(abi.EffectInput{EffectType: "script", OperationID: opID, OperationData: script})
		require.NoError(t, err)
		resp, err := http.Post("http://"+addr+"/v1/nodes/effects/effect", "application/json", bytes.NewReader(in))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b), resp.Header.Get(server.HeaderDeduplicated) == "true"
	}
	kill := func(cmd *exec.Cmd) {
		require.NoError(t, cmd.Process.Kill()) // SIGKILL: no rollback, no cleanup, no close
		_ = cmd.Wait()
	}
	f, g, marker := filepath.Join(dir, "f"), filepath.Join(dir, "g"), filepath.Join(dir, "marker")

	cmd, stderr := start()
	status, first, dedup := post("op-committed", map[string]any{"op": "fs.write", "path": f, "value": "v"})
	require.Equal(t, http.StatusOK, status, "%s\n%s", first, stderr)
	require.False(t, dedup)
	// The second effect is killed after a write, before its commit.
	script, err := json.Marshal(map[string]any{"steps": []map[string]any{{"op": "fs.write", "path": g, "value": "v"},
		{"op": "fs.write", "path": marker, "value": "x"}, {"op": "sleep", "sleep_ms": 60_000}}})
	require.NoError(t, err)
	killed, err := json.Marshal(abi.EffectInput{EffectType: "script", OperationID: "op-killed", OperationData: script})
	require.NoError(t, err)
	go func() {
		// The process dies under this request: its error is expected, and not the test's.
		resp, err := http.Post("http://"+addr+"/v1/nodes/effects/effect", "application/json", bytes.NewReader(killed))
		if err == nil {
			resp.Body.Close()
		}
	}()
	eventually(t, func() bool { _, err := os.Stat(marker); return err == nil }, "the effect never reached its marker: %s", stderr)
	kill(cmd)
	require.NoError(t, os.WriteFile(f, []byte("tampered"), 0o644))

	cmd, stderr = start()
	assert.NoFileExists(t, g, "the restart rolled the killed effect back")
	status, again, dedup := post("op-committed", map[string]any{"op": "fs.write", "path": f, "value": "v"})
	require.Equal(t, http.StatusOK, status, "%s\n%s", again, stderr)
	assert.True(t, dedup, "answered from the journal")
	assert.Equal(t, first, again)
	b, err := os.ReadFile(f)
	require.NoError(t, err)
	assert.Equal(t, "tampered", string(b), "not applied twice")

	status, body, dedup := post("op-killed", map[string]any{"op": "fs.write", "path": g, "value": "v"})
	require.Equal(t, http.StatusOK, status, "%s\n%s", body, stderr)
	assert.False(t, dedup, "an effect that never committed runs again")
	b, err = os.ReadFile(g)
	require.NoError(t, err)
	assert.Equal(t, "v", string(b))
	kill(cmd)
}
