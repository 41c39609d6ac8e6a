package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/server"
)

// `journal list --server` reads the journal of a running host (whose file is locked)
// through its admin API, and finds an effect by its operation id.
func TestJournal_ListServer(t *testing.T) {
	t.Parallel()
	fileops := goPlugin(t, "plugins/fileops")
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir(cacheDir).WithDataDir(t.TempDir()).
		WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close(ctx)) })
	dir := t.TempDir()
	srv := server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler),
		Tokens: map[string]server.Role{"adm": server.RoleAdmin}})
	require.NoError(t, srv.Load(ctx, []server.NodeSpec{
		{Path: fileops, Plugin: host.PluginConfig{Grants: host.Grants{Paths: []host.PathGrant{{Dir: dir}}}}}}))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	for _, op := range []string{"op-1", "op-2"} {
		data, _ := json.Marshal(map[string]string{"path": filepath.Join(dir, op), "content": "x"})
		in, _ := json.Marshal(abi.EffectInput{EffectType: "write", OperationID: op, OperationData: data})
		require.Equal(t, 200, srv.Invoke(ctx, "fileops", server.OperationEffect, in).Status)
	}

	code, stdout, stderr := cli(t, "", "journal", "list", "--server", ts.URL, "--token", "adm", "--operation-id", "op-2", "--json")
	require.Equal(t, 0, code, stderr)
	var recs []host.JournalRecord
	require.NoError(t, json.Unmarshal([]byte(stdout), &recs), stdout)
	require.Len(t, recs, 1)
	assert.Equal(t, "op-2", recs[0].Snapshot.OperationID)
	assert.Equal(t, "committed", recs[0].Snapshot.State.String())

	code, stdout, stderr = cli(t, "", "journal", "list", "--server", ts.URL, "--token", "adm")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "op-1")
	assert.Contains(t, stdout, "op-2")

	code, stdout, stderr = cli(t, "", "journal", "show", recs[0].Snapshot.ID, "--server", ts.URL, "--token", "adm")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, recs[0].Snapshot.ID)

	code, _, stderr = cli(t, "", "journal", "list", "--server", ts.URL, "--token", "wrong")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "401")
	code, _, _ = cli(t, "", "journal", "retry", recs[0].Snapshot.ID, "--server", ts.URL, "--token", "adm")
	assert.Equal(t, 2, code, "the API only reads")
}
