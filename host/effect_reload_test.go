package host_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// TestEffectNode_WithPluginSharesTheConcurrencyBound: while a reload's old version
// drains, a sequential node (Concurrency 1) still runs one effect at a time: the new
// version's effect waits for its turn.
func TestEffectNode_WithPluginSharesTheConcurrencyBound(t *testing.T) {
	h := effectHost(t)
	wasm := plugintest.Fixture(t, "wat/sleepeffect.wasm")
	p1, err := h.Load(context.Background(), wasm, host.PluginConfig{Grants: host.Grants{KV: true}})
	require.NoError(t, err)
	n1, err := host.NewEffectNode(p1, host.EffectConfig{Concurrency: 1, Timeout: -1})
	require.NoError(t, err)
	p2, err := h.Load(context.Background(), wasm, host.PluginConfig{Grants: host.Grants{KV: true}}) // the reload
	require.NoError(t, err)
	n2, err := n1.WithPlugin(p2)
	require.NoError(t, err)

	ctx1, cancel1 := context.WithCancel(context.Background())
	done1 := make(chan error, 1)
	go func() {
		_, err := n1.Process(ctx1, abi.EffectInput{EffectType: "sleeploop"})
		done1 <- err
	}()
	require.Eventually(t, func() bool { return p1.Stats().InUse == 1 }, time.Minute, time.Millisecond)
	require.ErrorIs(t, p1.Close(canceled()), context.Canceled, "the old version drains: its effect holds it")

	acquired := p2.Stats().Acquired
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	_, err = n2.Process(ctx2, abi.EffectInput{EffectType: "sleep"})
	require.ErrorIs(t, err, host.ErrTimeout)
	assert.Contains(t, err.Error(), "waiting for a turn")
	assert.Equal(t, acquired, p2.Stats().Acquired, "the new version's effect never ran beside the old one's")

	cancel1()
	require.ErrorIs(t, <-done1, host.ErrCanceled)
	require.NoError(t, p1.Close(context.Background()))
	assert.Equal(t, 0, p1.Stats().Live, "the old version is gone with its last effect")
}

// canceled is a context that has already ended.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
