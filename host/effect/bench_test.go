package effect_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/effect"
	"github.com/onexhost/onex-host/host/internal/hosttest"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// BenchmarkEffectCapability measures what a capability call costs inside an effect, on the
// WAT effect proxy (one capability call per effect, no guest runtime to speak of) with an
// in-memory key-value store:
//
//   - kv.get/bare: an effect without transaction or breakers — the effect envelope, one
//     guest call, one onex.call and onex.result;
//   - kv.get/breaker+tx: the same read behind the kv breaker, in a transaction that
//     begins and commits (a read records nothing);
//   - kv.put/bare and kv.put/breaker+tx: a write, which the transaction records with its
//     before-image (a read of the previous value) before it runs.
//
// The difference between bare and breaker+tx is the overhead the effect machinery adds
// to a no-op capability call.
func BenchmarkEffectCapability(b *testing.B) {
	h, _ := hosttest.NewHost(b, host.NewConfig().WithDataDir("").WithLogger(slog.New(slog.DiscardHandler)))
	p, err := h.Load(context.Background(), plugintest.Fixture(b, "wat/effectproxy.wasm"), host.PluginConfig{Grants: proxyGrants(b.TempDir())})
	if err != nil {
		b.Fatal(err)
	}
	n, err := effect.New(p, effect.Config{})
	if err != nil {
		b.Fatal(err)
	}
	get, _ := json.Marshal(abi.KVKeyRequest{Key: "k"})
	put, _ := json.Marshal(abi.KVPutRequest{Key: "k", Value: []byte("v")})
	for _, bc := range []struct {
		name string
		in   abi.EffectInput
	}{
		{"kv.get/bare", abi.EffectInput{EffectType: abi.OpKVGet, OperationData: get, NoTransaction: true, NoCircuitBreaker: true}},
		{"kv.get/breaker+tx", abi.EffectInput{EffectType: abi.OpKVGet, OperationData: get}},
		{"kv.put/bare", abi.EffectInput{EffectType: abi.OpKVPut, OperationData: put, NoTransaction: true, NoCircuitBreaker: true}},
		{"kv.put/breaker+tx", abi.EffectInput{EffectType: abi.OpKVPut, OperationData: put}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			if _, err := n.Process(ctx, bc.in); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := n.Process(ctx, bc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
