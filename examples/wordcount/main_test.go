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

// The handler, natively, through sdk.Dispatch exactly as the host would call it.
func TestCountWords_Dispatch(t *testing.T) {
	status, out := sdk.Dispatch(context.Background(), "count_words", []byte(`"The cat and the hat. THE end"`))
	require.Equal(t, abi.StatusOK, status, string(out))
	assert.JSONEq(t, `{"total":7,"top":[{"word":"the","count":3},{"word":"and","count":1},{"word":"cat","count":1}]}`, string(out))

	status, out = sdk.Dispatch(context.Background(), "count_words", []byte(`"  "`))
	assert.Equal(t, abi.StatusError, status)
	assert.Contains(t, string(out), "invalid_input")
}

// The built plugin, through the host.
func TestCountWords_Plugin(t *testing.T) {
	path := plugintest.Built(t, "examples/wordcount")
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()))
	require.NoError(t, err)
	defer h.Close(ctx)
	p, err := h.LoadFile(ctx, path, host.PluginConfig{})
	require.NoError(t, err)
	out, err := p.Call(ctx, "count_words", []byte(`"a b a"`))
	require.NoError(t, err)
	assert.JSONEq(t, `{"total":3,"top":[{"word":"a","count":2},{"word":"b","count":1}]}`, string(out))

	_, err = p.Call(ctx, "count_words", []byte(`42`))
	require.ErrorIs(t, err, host.ErrInvalidInput)
}
