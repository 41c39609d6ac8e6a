package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// localEffectsServer serves fileops (granted dir) on a host whose journal is in dataDir,
// with LocalEffects; the returned func stops it (the host closed, so its journal is).
func localEffectsServer(t *testing.T, dataDir, dir string) (h *host.Host, url string, stop func()) {
	t.Helper()
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir(dataDir).
		WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	srv := server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler), Effects: server.NewLocalEffects(h, nil)})
	require.NoError(t, srv.Load(ctx, []server.NodeSpec{
		{Path: fileopsPath, Plugin: host.PluginConfig{Grants: host.Grants{Paths: []host.PathGrant{{Dir: dir}}}}}}))
	ts := httptest.NewServer(srv.Handler())
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			ts.Close()
			require.NoError(t, h.Close(ctx))
		}
	}
	t.Cleanup(stop)
	return h, ts.URL, stop
}

// postEffect posts one fileops write and returns the status, the body and whether the
// answer was marked deduplicated.
func postEffect(t *testing.T, url, opID, path, content string) (int, string, bool) {
	t.Helper()
	data, err := json.Marshal(map[string]string{"path": path, "content": content})
	require.NoError(t, err)
	in, err := json.Marshal(abi.EffectInput{EffectType: "write", OperationID: opID, OperationData: data})
	require.NoError(t, err)
	resp, err := http.Post(url+"/v1/nodes/fileops/effect", "application/json", strings.NewReader(string(in)))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b), resp.Header.Get(server.HeaderDeduplicated) == "true"
}

// journaled counts the journal's transactions of operation id op.
func journaled(t *testing.T, h *host.Host, op string) int {
	t.Helper()
	recs, err := h.JournalRecords(host.JournalFilter{OperationID: op})
	require.NoError(t, err)
	return len(recs)
}

// TestLocalEffects_OncePerOperationID: a repeat of a committed operation id is answered
// with the first answer, marked deduplicated, without running (the file changed since
// stays changed, one transaction), also after a restart; another id runs; a failed run
// is not recorded and runs again.
func TestLocalEffects_OncePerOperationID(t *testing.T) {
	dataDir, dir := t.TempDir(), t.TempDir()
	h, url, stop := localEffectsServer(t, dataDir, dir)
	file := filepath.Join(dir, "a.txt")

	status, first, dedup := postEffect(t, url, "op-1", file, "one")
	require.Equal(t, http.StatusOK, status, first)
	assert.False(t, dedup)
	require.NoError(t, os.WriteFile(file, []byte("changed by someone else"), 0o644))

	status, second, dedup := postEffect(t, url, "op-1", file, "one")
	require.Equal(t, http.StatusOK, status)
	assert.True(t, dedup, "the repeat is answered, not run")
	assert.Equal(t, first, second, "the repeat's answer is the first answer")
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, "changed by someone else", string(got), "the effect did not run again")
	assert.Equal(t, 1, journaled(t, h, "op-1"))

	status, _, dedup = postEffect(t, url, "op-2", file, "two")
	require.Equal(t, http.StatusOK, status)
	assert.False(t, dedup)
	got, err = os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, "two", string(got), "another operation id runs")

	// A run that fails (a path outside the grant) commits nothing: its repeat runs again.
	outside := filepath.Join(t.TempDir(), "x.txt")
	status, _, _ = postEffect(t, url, "op-3", outside, "x")
	require.NotEqual(t, http.StatusOK, status)
	status, _, dedup = postEffect(t, url, "op-3", outside, "x")
	require.NotEqual(t, http.StatusOK, status)
	assert.False(t, dedup)

	// The answers live in the journal: a new process answers the same.
	stop()
	_, url, _ = localEffectsServer(t, dataDir, dir)
	status, third, dedup := postEffect(t, url, "op-1", file, "one")
	require.Equal(t, http.StatusOK, status)
	assert.True(t, dedup)
	assert.Equal(t, first, third)
	got, err = os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, "two", string(got))
}
