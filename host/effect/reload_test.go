package effect_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/effect"
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
	n1, err := effect.New(p1, effect.Config{Concurrency: 1, Timeout: -1})
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

// TestEffect_CompensationsDuringReload: after a reload of an unchanged file the old and
// new versions share a digest; while the old one drains, every guest compensation runs
// on the open version and the rollbacks succeed.
func TestEffect_CompensationsDuringReload(t *testing.T) {
	h := effectHost(t)
	dir := t.TempDir()
	old := scriptNode(t, h, dir, effect.Config{Timeout: -1})
	n := scriptNode(t, h, dir, effect.Config{}) // the reload: same file, same digest
	require.Equal(t, old.Plugin().Digest(), n.Plugin().Digest())

	// The old version is closed while one of its effects still runs: it drains.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := runScriptCtx(t, ctx, old, script{Steps: []step{{Op: "sleep", SleepMS: 600_000}}})
		done <- err
	}()
	require.Eventually(t, func() bool { return old.Plugin().Stats().InUse == 1 }, time.Minute, time.Millisecond)
	require.ErrorIs(t, old.Plugin().Close(canceled()), context.Canceled)

	for i := range 20 {
		out, _, err := runScript(t, n, script{FailAfter: failAfter(2), Steps: []step{
			{Op: abi.OpKVPut, Key: "marker", Value: "x"},
			{Op: abi.OpTxCompensate, Undo: "marker"},
		}})
		require.Error(t, err)
		require.Equal(t, abi.TransactionRolledBack, out.TransactionState, "effect %d: %+v", i, out.RollbackOperations)
	}
	cancel()
	require.Error(t, <-done)
}

// runScriptCtx is runScript under ctx.
func runScriptCtx(tb testing.TB, ctx context.Context, n *effect.Node, s script) (abi.EffectOutput, scriptResult, error) {
	tb.Helper()
	data, err := json.Marshal(s)
	require.NoError(tb, err)
	out, err := n.Process(ctx, abi.EffectInput{EffectType: "script", OperationData: data})
	return out, scriptResult{}, err
}
