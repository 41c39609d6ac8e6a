package config_test

import (
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/effect"
	"github.com/onexhost/onex-host/host/server/config"
)

func TestLoad_Example(t *testing.T) {
	dir := exampleTree(t)
	t.Setenv("ONEX_CI_TOKEN", "ci-secret-from-env")
	f, err := config.Load(filepath.Join(dir, "onex.yaml"))
	require.NoError(t, err)

	assert.Equal(t, "0.0.0.0:8080", f.Listen)
	assert.Equal(t, "127.0.0.1:6060", f.AdminListen)
	assert.Equal(t, config.Log{Level: "info", Format: "json"}, f.Log)
	assert.Equal(t, config.Limits{
		MaxRequestBytes: 16 << 20,
		ReadTimeout:     config.Duration(30 * time.Second),
		WriteTimeout:    config.Duration(60 * time.Second),
		ShutdownTimeout: config.Duration(30 * time.Second),
	}, f.Limits)

	hc, err := f.HostConfig(nil)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "var", "data"), hc.DataDir)
	assert.Equal(t, filepath.Join(dir, "var", "cache"), hc.CacheDir)
	assert.Equal(t, uint64(128<<20), hc.MemoryLimit)
	assert.Equal(t, 30*time.Second, hc.Timeout)
	assert.Equal(t, host.DefaultMaxInstances(), hc.MaxInstances)
	assert.Equal(t, 1, hc.Prewarm)
	assert.Equal(t, 1000, hc.CacheEntries)
	assert.Equal(t, int64(64<<20), hc.CacheBytes)
	assert.Equal(t, 30*time.Minute, hc.CacheTTL)
	want := host.FastFailBreakers()
	hc.Breakers.IsFailure, want.IsFailure = nil, nil // funcs do not compare
	assert.Equal(t, want, hc.Breakers, "the example's overrides repeat the fast-fail preset")

	nodes, err := f.Nodes()
	require.NoError(t, err)
	require.Len(t, nodes, 6)
	assert.Equal(t, filepath.Join(dir, "plugins", "a.wasm"), nodes[0].Path)
	assert.Equal(t, filepath.Join(dir, "plugins", "b.wasm"), nodes[1].Path)
	for _, n := range nodes[:2] {
		assert.Equal(t, 5*time.Second, n.PluginConfig.Timeout)
		assert.Equal(t, uint64(64<<20), n.PluginConfig.MemoryLimit)
		assert.Equal(t, 8, n.PluginConfig.MaxInstances)
		assert.Equal(t, 2, n.PluginConfig.Prewarm)
		assert.Equal(t, 10*time.Minute, n.PluginConfig.CacheTTL)
		assert.Equal(t, map[string]string{"top": "3"}, n.PluginConfig.Extism.Config)
		assert.Empty(t, n.Name)
	}

	files := nodes[2]
	assert.Equal(t, filepath.Join(dir, "effects", "fileops.wasm"), files.Path)
	assert.Equal(t, "files", files.Name)
	assert.Equal(t, effect.Config{
		Retry:       effect.RetryPolicy{MaxRetries: 3, BaseDelay: time.Second, MaxDelay: 30 * time.Second, Jitter: 0.1},
		Concurrency: 1,
		Timeout:     30 * time.Second,
	}, files.Effect)
	assert.Equal(t, host.Grants{
		Paths:  []host.PathGrant{{Dir: filepath.Join(dir, "data")}, {Dir: filepath.Join(dir, "ref"), ReadOnly: true}},
		Hosts:  []string{"api.example.com", "*.example.org"},
		KV:     true,
		Events: true,
	}, files.PluginConfig.Grants)

	text := nodes[3]
	assert.Equal(t, filepath.Join(dir, "extism", "text.wasm"), text.Path)
	require.NotNil(t, text.PluginConfig.Extism.Node)
	assert.Equal(t, "text", text.PluginConfig.Extism.Node.Name)
	assert.True(t, text.PluginConfig.Extism.Node.Deterministic)
	assert.Equal(t, map[string]string{"top": "5"}, text.PluginConfig.Extism.Config)
	for _, n := range nodes[:2] {
		assert.Equal(t, host.IsolationPooled, n.PluginConfig.Isolation)
	}

	assert.Equal(t, filepath.Join(dir, "contracts", "order_fsm.yaml"), nodes[4].FSM)
	assert.Equal(t, "orders", nodes[4].Name)
	assert.Equal(t, filepath.Join(dir, "workflows", "fulfil.yaml"), nodes[5].Workflow)

	tokens, err := f.Tokens()
	require.NoError(t, err)
	assert.Equal(t, []config.Token{
		{Name: "ci", Role: config.RoleInvoke, Value: "ci-secret-from-env"},
		{Name: "ops", Role: config.RoleAdmin, Value: "ops-secret-from-file"},
	}, tokens)
}

func TestDefault(t *testing.T) {
	f := config.Default()
	assert.Equal(t, "127.0.0.1:8080", f.Listen)
	assert.Empty(t, f.AdminListen)
	assert.Empty(t, f.Auth.Tokens)
	assert.Equal(t, host.DefaultDataDir(), f.DataDir)
	assert.Equal(t, host.DefaultCacheDir(), f.CacheDir)
	assert.Equal(t, config.Log{Level: "info", Format: "text"}, f.Log)
	assert.Equal(t, config.Size(16<<20), f.Limits.MaxRequestBytes)
	assert.Equal(t, config.Duration(60*time.Second), f.Limits.WriteTimeout)
	assert.Equal(t, []config.NodeEntry{{Dir: "bin/plugins"}}, f.NodeEntries)

	hc, err := f.HostConfig(nil)
	require.NoError(t, err)
	want := host.NewConfig()
	hc.Breakers.IsFailure = nil
	assert.Equal(t, want, hc, "Default's host config is host.NewConfig")

	tokens, err := f.Tokens()
	require.NoError(t, err)
	assert.Empty(t, tokens)

	// Its node directory is relative to the current directory.
	t.Chdir(fixtureTree(t))
	mkdir(t, ".", "bin/plugins")
	write(t, ".", "bin/plugins/core.wasm", "")
	nodes, err := f.Nodes()
	require.NoError(t, err)
	require.Len(t, nodes, 1)
	assert.Equal(t, filepath.Join("bin", "plugins", "core.wasm"), nodes[0].Path)
	require.NoError(t, f.Validate())
}

func TestParse_Empty(t *testing.T) {
	for _, doc := range []string{"", "# nothing\n", "{}\n"} {
		f, err := config.Parse([]byte(doc))
		require.NoError(t, err, "%q", doc)
		want := config.Default()
		want.NodeEntries = nil
		assert.Equal(t, want, f, "%q: Default without its node entry", doc)
	}
}

func TestParse_ExplicitEmptyDirectories(t *testing.T) {
	f, err := config.Parse([]byte("data_dir: \"\"\ncache_dir: \"\"\n"))
	require.NoError(t, err)
	hc, err := f.HostConfig(nil)
	require.NoError(t, err)
	assert.Empty(t, hc.DataDir, "an explicit empty data_dir keeps the store in memory")
	assert.Empty(t, hc.CacheDir, "an explicit empty cache_dir disables the disk cache")
}

func TestLoad_Missing(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "onex.yaml"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestParse_NotOneDocument(t *testing.T) {
	for _, tc := range []struct{ name, doc string }{
		{name: "two documents", doc: "listen: 127.0.0.1:1\n---\nlisten: 127.0.0.1:2\n"},
		{name: "syntax", doc: "listen: [\n"},
		{name: "a list", doc: "- listen\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.doc))
			require.Error(t, err)
			var fe *config.FieldError
			assert.False(t, errorsAs(err, &fe), "not about one field: %v", err)
		})
	}
}
