package host_test

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// BenchmarkLoopHeavy runs loop-heavy guest code — core's stats over 10,000 numbers, which
// decodes JSON and sorts — metered (the default), guarded (close-on-context-done: an exit to
// Go at every loop header) and raw (an unguarded wazero runtime that could never stop a
// runaway guest), side by side. The target: metered within 2× of raw.
func BenchmarkLoopHeavy(b *testing.B) {
	benchMetering(b, "stats", numbers(10_000))
}

// BenchmarkSum is the metering issue's table: core's sum_numbers over 8 and over 1,000
// numbers, metered, guarded and raw, side by side.
func BenchmarkSum(b *testing.B) {
	for _, n := range []int{8, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchMetering(b, "sum_numbers", numbers(n)) })
	}
}

// BenchmarkRefillYield prices the yield a metered guest's refill makes once per quantum
// after the first (runtime.Gosched with nothing else runnable): with a refill every
// 45-135 µs of Go code, its share of guest time is this ÷ 45,000-135,000 ns.
func BenchmarkRefillYield(b *testing.B) {
	for b.Loop() {
		runtime.Gosched()
	}
}

// numbers is a JSON array of n integers.
func numbers(n int) []byte {
	nums := make([]string, n)
	for i := range nums {
		nums[i] = fmt.Sprint((i * 7919) % 10_007)
	}
	return []byte("[" + strings.Join(nums, ",") + "]")
}

// benchMetering times one core computation metered, guarded and raw.
func benchMetering(b *testing.B, computation string, in []byte) {
	wasm := plugintest.Bytes(b, "plugins/core")
	for _, exec := range []host.Execution{host.ExecutionMetered, host.ExecutionGuarded} {
		b.Run(string(exec), func(b *testing.B) {
			h, _ := newHost(b, host.NewConfig().WithLogger(slog.New(slog.DiscardHandler)))
			p, err := h.Load(context.Background(), wasm, host.PluginConfig{Execution: exec})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := p.Call(context.Background(), computation, in); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := p.Call(context.Background(), computation, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("raw", func(b *testing.B) {
		w := newWazeroEcho(b, wasm, false, len(computation)+len(in))
		ctx := context.Background()
		if _, err := w.echo(ctx, computation, in); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := w.echo(ctx, computation, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
