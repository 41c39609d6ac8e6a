package host_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/compute"
	"github.com/onexhost/onex-host/host/effect"
	"github.com/onexhost/onex-host/host/internal/hosttest"
)

// The node kinds have packages and tests of their own (host/compute, host/effect); the
// tests here use them where a concern of package host (caching, deadlines, recovery,
// the ABI) shows through a node.

// newCoreNode returns a compute node of plugins/core in a new host.
func newCoreNode(t *testing.T, cfg host.Config) (*host.Host, *compute.Node, *recorder) {
	t.Helper()
	h, rec := newHost(t, cfg)
	node, err := compute.New(loadGo(t, h, "plugins/core", host.PluginConfig{}))
	require.NoError(t, err)
	return h, node, rec
}

// input is a ComputeInput of computation on data.
func input(computation, data string) abi.ComputeInput {
	return abi.ComputeInput{ComputationType: computation, Data: json.RawMessage(data)}
}

type (
	step         = hosttest.Step
	script       = hosttest.Script
	scriptResult = hosttest.ScriptResult
)

var (
	proxyGrants = hosttest.ProxyGrants
	loadProxy   = hosttest.LoadProxy
	effectHost  = hosttest.EffectHost
	failAfter   = hosttest.FailAfter
	scriptNode  = hosttest.ScriptNode
)

// runScript runs one script effect.
func runScript(tb testing.TB, n *effect.Node, s script) (abi.EffectOutput, scriptResult, error) {
	tb.Helper()
	return hosttest.RunScript(tb, context.Background(), n, s)
}
