package server_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// TestServer_Add: Add loads one more node next to those Load loaded, without touching
// readiness, and refuses a file that does not load or a name that is taken, changing
// nothing; Loaded reports every node with its file and digest.
func TestServer_Add(t *testing.T) {
	t.Parallel()
	wat := filepath.Join(plugintest.Root(), "plugins/testdata/wat")
	versioned, echo := filepath.Join(wat, "versioned1.wasm"), filepath.Join(wat, "echo.wasm")
	tests := []struct {
		name    string
		load    bool // call Load (with versioned) first
		add     server.NodeSpec
		wantErr bool
		names   []string
	}{
		{name: "after Load", load: true, add: server.NodeSpec{Path: echo}, names: []string{"echo", "versioned"}},
		{name: "before Load", add: server.NodeSpec{Path: echo}, names: []string{"echo"}},
		{name: "under another name", load: true, add: server.NodeSpec{Path: versioned, Name: "calc"}, names: []string{"calc", "versioned"}},
		{name: "name taken", load: true, add: server.NodeSpec{Path: echo, Name: "versioned"}, wantErr: true, names: []string{"versioned"}},
		{name: "missing file", load: true, add: server.NodeSpec{Path: filepath.Join(t.TempDir(), "nope.wasm")}, wantErr: true, names: []string{"versioned"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir("").
				WithLogger(slog.New(slog.DiscardHandler)))
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, h.Close(ctx)) })
			srv := server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler)})
			if tt.load {
				require.NoError(t, srv.Load(ctx, []server.NodeSpec{{Path: versioned}}))
			}
			got, err := srv.Add(ctx, tt.add)
			assert.Equal(t, tt.load, srv.Ready(), "Add leaves readiness alone")
			assert.Equal(t, tt.names, srv.Names())
			if tt.wantErr {
				require.ErrorIs(t, err, server.ErrLoad)
				assert.Equal(t, server.LoadedNode{}, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.add.Path, got.Path)
			assert.Equal(t, abi.KindCompute, got.Kind)
			assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, got.Digest)
			assert.Contains(t, srv.Loaded(), got)
			names := make([]string, 0, len(tt.names))
			for _, n := range srv.Loaded() {
				names = append(names, n.Name)
			}
			assert.Equal(t, tt.names, names, "Loaded is sorted by name")
		})
	}
}
