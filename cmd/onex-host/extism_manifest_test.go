package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// writeExtismManifest writes m as JSON into dir and returns its path.
func writeExtismManifest(t *testing.T, dir string, m map[string]any) string {
	t.Helper()
	b, err := json.Marshal(m)
	require.NoError(t, err)
	path := filepath.Join(dir, "plugin.json")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return path
}

// TestExtismManifest_GuestPathMapping: a directory mapped HOST:GUEST, by allowed_paths or
// by --allow-path, is what an Extism plugin reads at /mnt.
func TestExtismManifest_GuestPathMapping(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(data, "test.txt"), []byte("hello world!"), 0o644))
	rw := extism(t, "read_write.wasm")
	manifest := writeExtismManifest(t, t.TempDir(), map[string]any{
		"wasm":          []map[string]any{{"path": rw}},
		"allowed_paths": map[string]string{"ro:" + data: "/mnt"},
		"config":        map[string]string{"path": "/mnt/test.txt"},
	})
	code, stdout, stderr := cli(t, "", "call", manifest, "try_read")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "hello world!", stdout)
	code, _, stderr = cli(t, "", "call", manifest, "try_write", "--input", "x")
	assert.Equal(t, 1, code, "ro: mounts read-only")
	assert.Contains(t, stderr, "Failed to write file")

	code, stdout, stderr = cli(t, "", "call", rw, "try_read", "--allow-path", data+":/mnt", "--config", "path=/mnt/test.txt")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "hello world!", stdout)
	code, _, stderr = cli(t, "", "call", rw, "try_read", "--config", "path=/mnt/test.txt")
	assert.Equal(t, 1, code, "nothing is mounted without a grant: %s", stderr)

	code, _, stderr = cli(t, "", "run", corePath, "--type", "sha256", "--data", `"a"`, "--allow-path", data+":/mnt")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "a native plugin names files by their host path")
}

func TestExtismManifest_Limits(t *testing.T) {
	t.Parallel()
	sleep := extism(t, "sleep.wasm")
	manifest := writeExtismManifest(t, t.TempDir(), map[string]any{
		"wasm": []map[string]any{{"path": sleep}}, "timeout_ms": 100, "config": map[string]string{"duration": "30"},
	})
	code, _, stderr := cli(t, "", "call", manifest, "run_test")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "timeout", "timeout_ms is enforced")

	vowels := extism(t, "count_vowels.wasm")
	for _, tc := range []struct {
		pages int
		code  int
	}{{1, 1}, {256, 0}} {
		dir := t.TempDir()
		manifest := writeExtismManifest(t, dir, map[string]any{
			"wasm": []map[string]any{{"path": vowels}}, "memory": map[string]any{"max_pages": tc.pages},
		})
		code, stdout, stderr := cli(t, "", "call", manifest, "count_vowels", "--input", "hello")
		assert.Equal(t, tc.code, code, "max_pages %d: %s%s", tc.pages, stdout, stderr)
		if tc.code != 0 {
			assert.Contains(t, stderr, "over the memory limit of 64 KiB (1 pages)", "max_pages is the memory limit")
		}
	}
}

func TestExtismManifest_Refused(t *testing.T) {
	t.Parallel()
	vowels := extism(t, "count_vowels.wasm")
	for _, tc := range []struct {
		name string
		m    map[string]any
		want string
	}{
		{"unknown field", map[string]any{"wasm": []map[string]any{{"path": vowels}}, "allowed_pathz": map[string]string{}}, `unknown field "allowed_pathz"`},
		{"url", map[string]any{"wasm": []map[string]any{{"url": "https://example.com/x.wasm"}}}, "the host fetches nothing"},
		{"two modules", map[string]any{"wasm": []map[string]any{{"path": vowels}, {"path": vowels}}}, "exactly one wasm entry"},
		{"wrong hash", map[string]any{"wasm": []map[string]any{{"path": vowels, "hash": "00"}}}, "the manifest's hash is 00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := cli(t, "", "call", writeExtismManifest(t, t.TempDir(), tc.m), "count_vowels", "--input", "a")
			assert.Equal(t, 2, code, stderr)
			assert.Contains(t, stderr, tc.want)
		})
	}
}

// TestRun_OutputEncoding: --output-encoding json makes a JSON-returning Extism function's
// result JSON rather than an escaped string, without a sidecar.
func TestRun_OutputEncoding(t *testing.T) {
	t.Parallel()
	vowels := extism(t, "count_vowels.wasm")
	code, stdout, stderr := cli(t, "", "run", vowels, "--type", "count_vowels", "--data", `"hello"`)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `"result": "{\"count\":2`)
	code, stdout, stderr = cli(t, "", "run", vowels, "--type", "count_vowels", "--data", `"hello"`, "--output-encoding", "json")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `"count": 2`)
	code, _, stderr = cli(t, "", "run", vowels, "--type", "count_vowels", "--data", `"hello"`, "--output-encoding", "yaml")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `output encoding "yaml"`)
}

// TestServe_ExtismManifest: a serve file's path entry may be an Extism manifest.
func TestServe_ExtismManifest(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(data, "test.txt"), []byte("hello world!"), 0o644))
	manifest := writeExtismManifest(t, t.TempDir(), map[string]any{
		"wasm":          []map[string]any{{"path": extism(t, "read_write.wasm")}},
		"allowed_paths": map[string]string{data: "/mnt"},
		"config":        map[string]string{"path": "/mnt/test.txt"},
	})
	addr := freeAddr(t)
	stop, logs := serveInProcess(t, fmt.Sprintf("listen: %s\ndata_dir: \"\"\ncache_dir: %s\nnodes: [{path: %s, name: rw}]\n",
		addr, plugintest.CacheDir(), manifest))
	defer stop()
	resp, err := http.Post("http://"+addr+"/v1/nodes/rw/compute", "application/json",
		strings.NewReader(`{"computation_type":"try_read","data":""}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode, "%s %s", b, logs)
	assert.Contains(t, string(b), `"result":"hello world!"`)
}
