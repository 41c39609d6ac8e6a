package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// TestCrash_RecoveryAfterKill runs an effect in a real onex-host process, kills it with
// SIGKILL after its k-th side effect, and checks that the next start rolls the files and
// keys back to what they were before the effect, from the journal alone. By default for
// k = 1, 4 and 5 (a recovery by `run` and by `journal recover`, a write, a key and a
// delete undone); with -soak for every k.
func TestCrash_RecoveryAfterKill(t *testing.T) {
	t.Parallel()
	bin := cliBinary(t)
	effects := goPlugin(t, "plugins/testdata/effects")

	steps := []map[string]any{
		{"op": "fs.write", "path": "f1", "value": "new 1"},
		{"op": "kv.put", "key": "k1", "value": "new"},
		{"op": "fs.write", "path": "f2", "value": "new 2"},
		{"op": "kv.put", "key": "k2", "value": "new"},
		{"op": "fs.delete", "path": "f3"},
	}
	for k := 0; k <= len(steps); k++ {
		if !*soak && k != 1 && k != 4 && k != 5 {
			continue
		}
		t.Run(fmt.Sprintf("after-%d-ops", k), func(t *testing.T) {
			t.Parallel()
			dataDir, dir := t.TempDir(), t.TempDir()
			abs := func(name string) string { return filepath.Join(dir, name) }
			require.NoError(t, os.WriteFile(abs("f1"), []byte("old 1"), 0o644))
			require.NoError(t, os.WriteFile(abs("f3"), []byte("old 3"), 0o600))
			run := func(script map[string]any) *exec.Cmd {
				data, err := json.Marshal(script)
				require.NoError(t, err)
				return exec.Command(bin, "run", effects, "--type", "script", "--data", string(data),
					"--allow-path", dir, "--kv", filepath.Join(dataDir, "kv.db"), "--data-dir", dataDir,
					"--allow-host", "example.com", "--events", "--cache-dir", plugintest.CacheDir())
			}
			kvGet := func() map[string]string {
				out, err := run(map[string]any{"steps": []map[string]any{{"op": "kv.get", "key": "k1"}, {"op": "kv.get", "key": "k2"}}}).Output()
				require.NoError(t, err)
				var res struct {
					Result struct{ Got map[string]string }
				}
				require.NoError(t, json.Unmarshal(out, &res))
				return res.Result.Got
			}
			// Before: k1 holds "old".
			require.NoError(t, run(map[string]any{"steps": []map[string]any{{"op": "kv.put", "key": "k1", "value": "old"}}}).Run())

			// The effect: k side effects, a marker (itself recorded), then it waits to be killed.
			script := []map[string]any{}
			for _, s := range steps[:k] {
				s = clone(s)
				if p, ok := s["path"].(string); ok {
					s["path"] = abs(p)
				}
				script = append(script, s)
			}
			script = append(script, map[string]any{"op": "fs.write", "path": abs("marker"), "value": "x"},
				map[string]any{"op": "sleep", "sleep_ms": 60_000})
			cmd := run(map[string]any{"steps": script})
			var stderr syncBuffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			eventually(t, func() bool { _, err := os.Stat(abs("marker")); return err == nil },
				"the effect never reached its marker: %s", &stderr)
			require.NoError(t, cmd.Process.Kill()) // SIGKILL: no rollback, no cleanup
			_ = cmd.Wait()
			if k >= 1 {
				b, _ := os.ReadFile(abs("f1"))
				require.Equal(t, "new 1", string(b), "the crash left the effect half done")
			}

			// The next start recovers from the journal: `journal recover`, or (odd k) the
			// next `run`, which recovers before its own effect.
			if k%2 == 0 {
				out, err := exec.Command(bin, "journal", "recover", "--data-dir", dataDir, "--allow-path", dir,
					"--kv", filepath.Join(dataDir, "kv.db"), "--cache-dir", plugintest.CacheDir()).CombinedOutput()
				require.NoError(t, err, "%s", out)
				assert.Contains(t, string(out), "rolled back 1, failed 0")
			} else {
				assert.Equal(t, map[string]string{"k1": "old"}, kvGet(), "run recovered before reading")
			}

			b, err := os.ReadFile(abs("f1"))
			require.NoError(t, err)
			assert.Equal(t, "old 1", string(b))
			assert.NoFileExists(t, abs("f2"))
			assert.NoFileExists(t, abs("marker"))
			b, err = os.ReadFile(abs("f3"))
			require.NoError(t, err, "a deleted file is restored")
			assert.Equal(t, "old 3", string(b))
			fi, err := os.Stat(abs("f3"))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "with its mode")
			assert.Equal(t, map[string]string{"k1": "old"}, kvGet())

			// The journal says so; a second recovery finds nothing to do.
			out, err := exec.Command(bin, "journal", "list", "--data-dir", dataDir, "--json").Output()
			require.NoError(t, err)
			var recs []struct {
				Snapshot  struct{ State string }
				Recovered bool
			}
			require.NoError(t, json.Unmarshal(out, &recs))
			var recovered int
			for _, r := range recs {
				if r.Recovered {
					recovered++
					assert.Equal(t, abi.TransactionRolledBack, r.Snapshot.State)
				}
			}
			assert.Equal(t, 1, recovered)
			out, err = exec.Command(bin, "journal", "recover", "--data-dir", dataDir, "--kv", filepath.Join(dataDir, "kv.db")).CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), "rolled back 0, failed 0")
		})
	}
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestCrash_32EffectsInFlight kills a server with 32 effects in flight and checks that the
// next start resolves every one of them.
func TestCrash_32EffectsInFlight(t *testing.T) {
	t.Parallel()
	bin := cliBinary(t)
	effects := goPlugin(t, "plugins/testdata/effects")
	dataDir, dir := t.TempDir(), t.TempDir()
	addr := freeAddr(t)
	cfg := writeConfig(t, fmt.Sprintf(`
listen: %s
data_dir: %s
cache_dir: %s
nodes:
  - path: %s
    max_instances: 32
    grants: {paths: [%s], hosts: [example.com], kv: true, events: true}
`, addr, dataDir, plugintest.CacheDir(), effects, dir))
	srv := exec.Command(bin, "serve", "--config", cfg)
	var stderr syncBuffer
	srv.Stderr = &stderr
	require.NoError(t, srv.Start())
	t.Cleanup(func() { _ = srv.Process.Kill() })
	waitReady(t, addr, &stderr)

	const n = 32
	for i := range n {
		go func() {
			script, _ := json.Marshal(map[string]any{"steps": []map[string]any{
				{"op": "kv.put", "key": fmt.Sprintf("k%d", i), "value": "v"},
				{"op": "fs.write", "path": filepath.Join(dir, fmt.Sprintf("f%d", i)), "value": "v"},
				{"op": "sleep", "sleep_ms": 60_000},
			}})
			in, _ := json.Marshal(abi.EffectInput{EffectType: "script", OperationData: script})
			resp, err := http.Post("http://"+addr+"/v1/nodes/effects/effect", "application/json", bytes.NewReader(in))
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	eventually(t, func() bool {
		// The written files only: a write in progress also shows its temporary file.
		written, _ := filepath.Glob(filepath.Join(dir, "f*"))
		return len(written) == n
	}, "every effect made its side effects: %s", &stderr)
	require.NoError(t, srv.Process.Kill())
	_ = srv.Wait()

	out, err := exec.Command(bin, "journal", "recover", "--data-dir", dataDir, "--allow-path", dir,
		"--cache-dir", plugintest.CacheDir()).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), fmt.Sprintf("rolled back %d, failed 0", n))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "every file was rolled back, and no temporary file was left")

	var gets []map[string]any
	for i := range n {
		gets = append(gets, map[string]any{"op": "kv.get", "key": fmt.Sprintf("k%d", i)})
	}
	data, _ := json.Marshal(map[string]any{"steps": gets})
	got, err := exec.Command(bin, "run", effects, "--type", "script", "--data", string(data), "--allow-path", dir,
		"--data-dir", dataDir, "--allow-host", "example.com", "--events", "--kv", filepath.Join(dataDir, "kv.db"),
		"--cache-dir", plugintest.CacheDir()).Output()
	require.NoError(t, err)
	var res struct {
		Result struct{ Got map[string]string }
	}
	require.NoError(t, json.Unmarshal(got, &res))
	assert.Empty(t, res.Result.Got, "every key was rolled back")
}
