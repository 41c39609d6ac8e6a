package server_test

import (
	"bytes"
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

// post sends body to url and returns the status and, unless 200, the decoded error body.
func post(t *testing.T, url string, body []byte) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	if resp.StatusCode != http.StatusOK { // a batch answers an array
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	}
	return resp.StatusCode, out
}

// Until crash recovery (Options.BeforeReady) has finished, no operation runs: the
// operation routes answer 503, retryable, and /readyz 503.
func TestServer_EffectsWaitForRecovery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir(t.TempDir()).
		WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close(ctx)) })
	dir := t.TempDir()
	recovering, finish := make(chan struct{}), make(chan struct{})
	srv := server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler),
		BeforeReady: func(ctx context.Context) error {
			close(recovering)
			<-finish // the test decides when recovery ends
			_, err := h.Recover(ctx)
			return err
		}})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	loaded := make(chan error, 1)
	go func() {
		loaded <- srv.Load(ctx, []server.NodeSpec{
			{Path: corePath},
			{Path: fileopsPath, Plugin: host.PluginConfig{Grants: host.Grants{Paths: []host.PathGrant{{Dir: dir}}}}},
		})
	}()
	<-recovering // every node is loaded and published; recovery is running

	file := filepath.Join(dir, "a.txt")
	data, _ := json.Marshal(map[string]string{"path": file, "content": "x"})
	effect, _ := json.Marshal(abi.EffectInput{EffectType: "write", OperationData: data})
	compute, _ := json.Marshal(abi.ComputeInput{ComputationType: "sum_numbers", Data: json.RawMessage("[1,2]")})
	cases := []struct {
		name, path string
		body       []byte
	}{
		{"effect", "/v1/nodes/fileops/effect", effect},
		{"compute", "/v1/nodes/core/compute", compute},
		{"batch", "/v1/nodes/core/batch", append(append([]byte("["), compute...), ']')},
	}
	for _, c := range cases {
		t.Run(c.name+" while recovering", func(t *testing.T) {
			status, out := post(t, ts.URL+c.path, c.body)
			assert.Equal(t, http.StatusServiceUnavailable, status)
			e, _ := out["error"].(map[string]any)
			assert.Equal(t, "unavailable", e["code"])
			assert.Equal(t, true, e["retryable"])
		})
	}
	assert.NoFileExists(t, file, "the effect did not run")
	resp := srv.Invoke(ctx, "fileops", server.OperationEffect, effect)
	assert.Equal(t, http.StatusServiceUnavailable, resp.Status, "Invoke (the cluster's path) waits too")
	r, err := http.Get(ts.URL + "/readyz")
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, r.StatusCode)

	close(finish)
	require.NoError(t, <-loaded)
	for _, c := range cases {
		t.Run(c.name+" once ready", func(t *testing.T) {
			status, _ := post(t, ts.URL+c.path, c.body)
			assert.Equal(t, http.StatusOK, status)
		})
	}
	assert.FileExists(t, file)
}
