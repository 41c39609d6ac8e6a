package host_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

func TestNew_Config(t *testing.T) {
	tests := []struct {
		name string
		cfg  host.Config
		err  string
	}{
		{name: "defaults", cfg: host.NewConfig()},
		{name: "zero value means defaults", cfg: host.Config{}},
		{name: "memory limit above 4 GiB", cfg: host.NewConfig().WithMemoryLimit(5 << 30), err: "exceeds 4 GiB"},
		{name: "negative max instances", cfg: host.NewConfig().WithMaxInstances(-1), err: "max instances"},
		{name: "input limit above 1 GiB", cfg: host.NewConfig().WithMaxInputBytes(2 << 30), err: "1 GiB"},
		{name: "negative idle timeout", cfg: host.NewConfig().WithIdleTimeout(-1), err: "idle timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := host.New(context.Background(), tt.cfg.WithCacheDir(""))
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			cfg := h.Config()
			assert.Equal(t, uint64(host.DefaultMemoryLimit), cfg.MemoryLimit)
			assert.Equal(t, host.DefaultTimeout, cfg.Timeout)
			assert.Equal(t, host.DefaultMaxInstances(), cfg.MaxInstances)
			assert.Equal(t, host.DefaultStuckGrace, cfg.StuckGrace)
			assert.NotNil(t, cfg.Logger)
			require.NoError(t, h.Close(context.Background()))
		})
	}
}

// TestPlugin_Timeout: PluginConfig.Timeout wins over the manifest's timeout_ms, which
// wins over Config.Timeout; negative means none.
func TestPlugin_Timeout(t *testing.T) {
	h, _ := newHost(t, host.NewConfig().WithTimeout(7e9))
	assert.Equal(t, int64(7e9), int64(loadFixture(t, h, "wat/echo.wasm", host.PluginConfig{}).Timeout()))
	assert.Equal(t, int64(2e9), int64(loadFixture(t, h, "wat/echo.wasm", host.PluginConfig{Timeout: 2e9}).Timeout()))
	assert.Equal(t, int64(0), int64(loadFixture(t, h, "wat/echo.wasm", host.PluginConfig{Timeout: -1}).Timeout()))

	m := abi.Manifest{Name: "echo", Version: "1", Kind: abi.KindCompute, TimeoutMS: 3000,
		Computations: []abi.Computation{{Name: "default"}}}
	section, err := json.Marshal(m)
	require.NoError(t, err)
	wasm := abi.AppendCustomSection(plugintest.Fixture(t, "wat/echo.wasm"), abi.ManifestSection, section)
	p, err := h.Load(context.Background(), wasm, host.PluginConfig{})
	require.NoError(t, err)
	assert.Equal(t, int64(3e9), int64(p.Timeout()), "the manifest's timeout_ms")
	p, err = h.Load(context.Background(), wasm, host.PluginConfig{Timeout: 1e9})
	require.NoError(t, err)
	assert.Equal(t, int64(1e9), int64(p.Timeout()), "the operator's override")
}
