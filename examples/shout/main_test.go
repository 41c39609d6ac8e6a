package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
	"github.com/onexhost/onex-host/sdk"
)

func TestUpper_Dispatch(t *testing.T) {
	status, out := sdk.Dispatch(context.Background(), "upper", []byte(`"hey"`))
	require.Equal(t, abi.StatusOK, status)
	assert.Equal(t, `"HEY"`, string(out))
}

func TestUpper_Plugin(t *testing.T) {
	path := plugintest.Built(t, "examples/shout")
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()))
	require.NoError(t, err)
	defer h.Close(ctx)
	p, err := h.LoadFile(ctx, path, host.PluginConfig{})
	require.NoError(t, err)
	out, err := p.Call(ctx, "upper", []byte(`"hey"`))
	require.NoError(t, err)
	assert.Equal(t, `"HEY"`, string(out))
}
