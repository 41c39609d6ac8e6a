package effect_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/effect"
	"github.com/onexhost/onex-host/host/internal/hosttest"
)

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
)

// scriptNode loads plugins/testdata/effects with dir granted and everything else too.
func scriptNode(tb testing.TB, h *host.Host, dir string, cfg effect.Config) *effect.Node {
	tb.Helper()
	p := hosttest.LoadGo(tb, h, "plugins/testdata/effects", host.PluginConfig{Grants: proxyGrants(dir)})
	n, err := effect.New(p, cfg)
	require.NoError(tb, err)
	return n
}

// runScript runs one script effect.
func runScript(tb testing.TB, n *effect.Node, s script) (abi.EffectOutput, scriptResult, error) {
	tb.Helper()
	return hosttest.RunScript(tb, context.Background(), n, s)
}
