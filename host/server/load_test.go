package server_test

import (
	"context"
	"log/slog"
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

// TestServer_Load: NodeSpec.Name serves a node under another name than its manifest's
// (also across a reload), and a node that fails to load is an ErrLoad that leaves the
// server unready.
func TestServer_Load(t *testing.T) {
	t.Parallel()
	versioned := filepath.Join(plugintest.Root(), "plugins/testdata/wat/versioned1.wasm")
	tests := []struct {
		name    string
		specs   []server.NodeSpec
		wantErr bool
		names   []string
	}{
		{name: "manifest name", specs: []server.NodeSpec{{Path: versioned}}, names: []string{"versioned"}},
		{name: "alias", specs: []server.NodeSpec{{Path: versioned, Name: "calc"}}, names: []string{"calc"}},
		{name: "one file under two names", specs: []server.NodeSpec{{Path: versioned}, {Path: versioned, Name: "calc"}},
			names: []string{"calc", "versioned"}},
		{name: "missing file", specs: []server.NodeSpec{{Path: filepath.Join(t.TempDir(), "nope.wasm")}}, wantErr: true},
		{name: "name taken", specs: []server.NodeSpec{{Path: versioned, Name: "calc"}, {Path: versioned, Name: "calc"}},
			wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir("").
				WithLogger(slog.New(slog.DiscardHandler)))
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, h.Close(ctx)) })
			srv := server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler)})
			err = srv.Load(ctx, tt.specs)
			if tt.wantErr {
				require.ErrorIs(t, err, server.ErrLoad)
				assert.False(t, srv.Ready())
				return
			}
			require.NoError(t, err)
			assert.True(t, srv.Ready())
			assert.Equal(t, tt.names, srv.Names())
			ts := httptest.NewServer(srv.Handler())
			t.Cleanup(ts.Close)
			f := &fixture{url: ts.URL}
			for _, name := range tt.names {
				var out abi.ComputeOutput
				require.Equal(t, 200, f.call(t, "POST", "/v1/nodes/"+name+"/compute", "", "", []byte(`{"computation_type":"default"}`), &out))
				assert.Equal(t, "1", string(out.Result))
				_, err := srv.Reload(ctx, name)
				require.NoError(t, err, "reloading %s", name)
			}
		})
	}
}
