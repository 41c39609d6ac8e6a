package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// A running host's journal is readable through the admin API, filtered by operation id.
func TestServer_Journal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir(t.TempDir()).
		WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close(ctx)) })
	dir := t.TempDir()
	srv := server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler),
		Tokens: map[string]server.Role{invokeToken: server.RoleInvoke, adminToken: server.RoleAdmin}})
	require.NoError(t, srv.Load(ctx, []server.NodeSpec{
		{Path: fileopsPath, Plugin: host.PluginConfig{Grants: host.Grants{Paths: []host.PathGrant{{Dir: dir}}}}}}))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	f := &fixture{url: ts.URL}
	for _, op := range []string{"op-1", "op-2"} {
		data, _ := json.Marshal(map[string]string{"path": filepath.Join(dir, op), "content": "x"})
		in, _ := json.Marshal(abi.EffectInput{EffectType: "write", OperationID: op, OperationData: data})
		require.Equal(t, http.StatusOK, f.call(t, "POST", "/v1/nodes/fileops/effect", invokeToken, "", in, nil))
	}

	type record struct {
		Snapshot struct {
			ID          string `json:"id"`
			OperationID string `json:"operation_id"`
			State       string `json:"state"`
		} `json:"snapshot"`
	}
	cases := []struct {
		name, path, token string
		status, n         int
	}{
		{"all", "/v1/journal", adminToken, 200, 2},
		{"by operation id", "/v1/journal?operation_id=op-2", adminToken, 200, 1},
		{"by state", "/v1/journal?state=committed&state=failed", adminToken, 200, 2},
		{"limit", "/v1/journal?limit=1", adminToken, 200, 1},
		{"no match", "/v1/journal?operation_id=nope", adminToken, 200, 0},
		{"unknown state", "/v1/journal?state=done", adminToken, 400, -1},
		{"bad limit", "/v1/journal?limit=x", adminToken, 400, -1},
		{"invoke role", "/v1/journal", invokeToken, 403, -1},
		{"no token", "/v1/journal", "", 401, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var recs []record
			var out any
			if c.n >= 0 {
				out = &recs
			}
			require.Equal(t, c.status, f.call(t, "GET", c.path, c.token, "", nil, out))
			if c.n >= 0 {
				require.Len(t, recs, c.n)
			}
			if c.name == "by operation id" {
				assert.Equal(t, "op-2", recs[0].Snapshot.OperationID)
				assert.Equal(t, "committed", recs[0].Snapshot.State)
				var one record
				require.Equal(t, 200, f.call(t, "GET", "/v1/journal/"+recs[0].Snapshot.ID, adminToken, "", nil, &one))
				assert.Equal(t, recs[0].Snapshot.ID, one.Snapshot.ID)
			}
		})
	}
	assert.Equal(t, 404, f.call(t, "GET", "/v1/journal/0190f4c2-0000-7000-8000-000000000000", adminToken, "", nil, nil))
}
