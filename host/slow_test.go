package host_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/compute"
)

// TestComputeNode_SlowThreshold: creating a cold instance is not the operation. The
// fixture's _initialize sleeps 1.5 s and its computation returns at once, so a call on a
// cold instance takes over 1.5 s but runs for far less than the 1 s threshold.
func TestComputeNode_SlowThreshold(t *testing.T) {
	h, rec := newHost(t, host.NewConfig().WithSlowThreshold(time.Second).WithIdleTimeout(time.Millisecond))
	// No instance kept: once the load's is trimmed, the call creates its own.
	p := loadFixture(t, h, "wat/slowinit.wasm", host.PluginConfig{Prewarm: -1})
	node, err := compute.New(p)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return p.Stats().Live == 0 }, time.Minute, time.Millisecond)
	created := p.Stats().Created
	out, err := node.Process(context.Background(), input("fast", "null"))
	require.NoError(t, err)
	assert.Equal(t, "1", string(out.Result))
	require.Greater(t, p.Stats().Created, created, "the call created an instance")
	assert.GreaterOrEqual(t, out.ProcessingTimeMS, 1500.0, "processing time is the call's wall time")
	assert.Empty(t, rec.Find("slow operation"))
}

// TestPlugin_TimeoutStartsWithTheInstance: a plugin's Timeout bounds the call, not the
// making of an instance. The fixture's _initialize sleeps 1.5 s; with a 200 ms Timeout a
// call that must create its instance still succeeds (before, the instantiation was cut at
// 200 ms and a short call budget failed every new instance on a busy machine).
func TestPlugin_TimeoutStartsWithTheInstance(t *testing.T) {
	h, _ := newHost(t, host.NewConfig().WithIdleTimeout(time.Millisecond))
	p := loadFixture(t, h, "wat/slowinit.wasm", host.PluginConfig{Prewarm: -1, Timeout: 200 * time.Millisecond})
	require.Eventually(t, func() bool { return p.Stats().Live == 0 }, time.Minute, time.Millisecond)
	created := p.Stats().Created
	out, err := p.Call(context.Background(), "fast", []byte("null"))
	require.NoError(t, err, "a 1.5 s _initialize is not the 200 ms call")
	assert.Equal(t, "1", string(out))
	assert.Greater(t, p.Stats().Created, created, "the call created an instance")
}
