package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

func TestRun_Effect(t *testing.T) {
	t.Parallel()
	fileops := goPlugin(t, "plugins/fileops")
	dir := t.TempDir()
	a := filepath.Join(dir, "a.txt")

	write, _ := json.Marshal(map[string]string{"path": a, "content": "hello"})
	code, stdout, stderr := cli(t, "", "run", fileops, "--allow-path", dir, "--type", "write", "--data", string(write))
	require.Equal(t, 0, code, stderr)
	var out abi.EffectOutput
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	assert.Equal(t, abi.TransactionCommitted, out.TransactionState)
	b, err := os.ReadFile(a)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))

	// A failing effect prints its output too, with the rollback, and exits 1.
	apply, _ := json.Marshal(map[string]any{"operations": []map[string]string{
		{"op": "write", "path": a, "content": "changed"},
		{"op": "move", "from": filepath.Join(dir, "none"), "to": filepath.Join(dir, "x")},
	}})
	code, stdout, stderr = cli(t, "", "run", fileops, "--allow-path", dir, "--type", "apply", "--data", string(apply))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no such file or directory")
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	assert.Equal(t, abi.TransactionRolledBack, out.TransactionState)
	require.Len(t, out.RollbackOperations, 1)
	b, err = os.ReadFile(a)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))

	// Read-only grant: the write is denied.
	code, _, stderr = cli(t, "", "run", fileops, "--allow-path", dir+":ro", "--type", "write", "--data", string(write))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "read-only")

	// No grant: the plugin does not load.
	code, _, stderr = cli(t, "", "run", fileops, "--type", "write", "--data", string(write))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no directory is granted")

	// The effect's input from stdin, as ONEX's EffectInput.
	in, _ := json.Marshal(map[string]any{"effect_type": "read", "operation_data": map[string]string{"path": a}})
	code, stdout, stderr = cli(t, string(in), "run", fileops, "--allow-path", dir, "--input", "-")
	require.Equal(t, 0, code, stderr)
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	assert.JSONEq(t, `{"content":"hello"}`, string(out.Result))
}

func TestRun_EffectEventsAndKV(t *testing.T) {
	t.Parallel()
	effects := goPlugin(t, "plugins/testdata/effects")
	kvFile := filepath.Join(t.TempDir(), "kv.db")
	script := `{"steps":[{"op":"kv.put","key":"k","value":"v"},{"op":"events.publish","topic":"onex.evt.test.step.v1","key":"e1"}]}`
	args := []string{"run", effects, "--type", "script", "--data", script,
		"--allow-path", t.TempDir(), "--allow-host", "example.com", "--kv", kvFile, "--events"}
	code, _, stderr := cli(t, "", args...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, `event: {"envelope_id":`)
	assert.Contains(t, stderr, `"key":"e1"`)

	// The store persists in the file: a second run reads what the first wrote.
	args[5] = `{"steps":[{"op":"kv.get","key":"k"}]}`
	code, stdout, stderr := cli(t, "", args...)
	require.Equal(t, 0, code, stderr)
	var out abi.EffectOutput
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	assert.JSONEq(t, `{"steps":1,"got":{"k":"v"}}`, string(out.Result))
}
