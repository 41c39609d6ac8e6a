package effect_test

import (
	"context"
	"testing"

	"github.com/onexhost/onex-host/abi"
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
	scriptNode  = hosttest.ScriptNode
)

// runScript runs one script effect.
func runScript(tb testing.TB, n *effect.Node, s script) (abi.EffectOutput, scriptResult, error) {
	tb.Helper()
	return hosttest.RunScript(tb, context.Background(), n, s)
}
