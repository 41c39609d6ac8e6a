package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// TestServer_ComputeOnAClosedVersionRunsOnTheNewOne: a compute request that holds a
// version a reload has just closed runs on the version now serving instead of failing.
func TestServer_ComputeOnAClosedVersionRunsOnTheNewOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir("").
		WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close(ctx)) })
	s := New(h, Options{Logger: slog.New(slog.DiscardHandler)})
	spec := NodeSpec{Path: filepath.Join(plugintest.Root(), "plugins/testdata/wat/versioned1.wasm")}
	require.NoError(t, s.Load(ctx, []NodeSpec{spec}))

	old := s.acquire("versioned")
	require.NotNil(t, old)
	defer old.release()
	spec.Path = filepath.Join(plugintest.Root(), "plugins/testdata/wat/versioned2.wasm")
	n, err := s.loadNode(ctx, spec, old)
	require.NoError(t, err)
	next := maps.Clone(*s.nodes.Load())
	next["versioned"] = n
	s.nodes.Store(&next)
	require.NoError(t, old.plugin.Close(ctx)) // as if a reload caught this request

	resp := s.invoke(ctx, old, OperationCompute, []byte(`{"computation_type":"default","cache_enabled":false}`), "")
	require.Equal(t, 200, resp.Status, "%s", resp.Body)
	var out abi.ComputeOutput
	require.NoError(t, json.Unmarshal(resp.Body, &out))
	assert.Equal(t, "2", string(out.Result))
}
