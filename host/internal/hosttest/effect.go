package hosttest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/effect"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// ProxyGrants grants the effect test plugins everything they ask for, with dir as their
// directory.
func ProxyGrants(dir string) host.Grants {
	return host.Grants{Paths: []host.PathGrant{{Dir: dir}}, Hosts: []string{"127.0.0.1"}, KV: true, Events: true}
}

// LoadProxy loads the WAT effect proxy (one capability op per effect) as an effect node.
func LoadProxy(tb testing.TB, h *host.Host, grants host.Grants, cfg effect.Config) *effect.Node {
	tb.Helper()
	p, err := h.Load(context.Background(), plugintest.Fixture(tb, "wat/effectproxy.wasm"), host.PluginConfig{Grants: grants})
	require.NoError(tb, err)
	n, err := effect.New(p, cfg)
	require.NoError(tb, err)
	return n
}

// EffectHost is a test host (see NewHost) without a data directory: its key-value store
// lives in memory and it has no journal.
func EffectHost(tb testing.TB) *host.Host {
	h, _ := NewHost(tb, host.NewConfig().WithDataDir(""))
	return h
}

// ScriptNode loads plugins/testdata/effects as an effect node, with dir granted and
// everything else too.
func ScriptNode(tb testing.TB, h *host.Host, dir string, cfg effect.Config) *effect.Node {
	tb.Helper()
	n, err := effect.New(LoadGo(tb, h, "plugins/testdata/effects", host.PluginConfig{Grants: ProxyGrants(dir)}), cfg)
	require.NoError(tb, err)
	return n
}

// Step and Script mirror plugins/testdata/effects' input.
type Step struct {
	Op      string `json:"op"`
	Path    string `json:"path,omitempty"`
	To      string `json:"to,omitempty"`
	Key     string `json:"key,omitempty"`
	Value   string `json:"value,omitempty"`
	Topic   string `json:"topic,omitempty"`
	URL     string `json:"url,omitempty"`
	Method  string `json:"method,omitempty"`
	Undo    string `json:"undo,omitempty"`
	SleepMS int    `json:"sleep_ms,omitempty"`
}

// Script is one effect of plugins/testdata/effects: its steps, run in order, and
// whether (and after how many steps) it fails.
type Script struct {
	Steps     []Step `json:"steps"`
	FailAfter *int   `json:"fail_after,omitempty"`
	Retryable bool   `json:"retryable,omitempty"`
}

// ScriptResult is a script effect's result.
type ScriptResult struct {
	Steps int               `json:"steps"`
	Got   map[string]string `json:"got"`
}

// FailAfter is a Script.FailAfter of n.
func FailAfter(n int) *int { return &n }

// RunScript runs one script effect on n under ctx.
func RunScript(tb testing.TB, ctx context.Context, n *effect.Node, s Script) (abi.EffectOutput, ScriptResult, error) {
	tb.Helper()
	data, err := json.Marshal(s)
	require.NoError(tb, err)
	out, err := n.Process(ctx, abi.EffectInput{EffectType: "script", OperationData: data})
	var res ScriptResult
	if err == nil {
		require.NoError(tb, json.Unmarshal(out.Result, &res))
	}
	return out, res, err
}
