package host_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/onexhost/onex-host/host"
)

// BenchmarkDeadlineOvershoot measures how late a runaway guest is stopped: each op runs
// the WAT infinite loop under a 20 ms plugin timeout, and the overshoot past 20 ms is
// reported as "overshoot-ms" (mean). The next op also pays for a fresh instance, since
// the stopped one is discarded.
func BenchmarkDeadlineOvershoot(b *testing.B) {
	const timeout = 20 * time.Millisecond
	h, _ := newHost(b, host.NewConfig())
	p := loadFixture(b, h, "wat/loop.wasm", host.PluginConfig{Timeout: timeout})
	var late time.Duration
	for b.Loop() {
		start := time.Now()
		_, err := p.Call(context.Background(), "default", nil)
		late += time.Since(start) - timeout
		if !errors.Is(err, host.ErrTimeout) {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(late.Microseconds())/1e3/float64(b.N), "overshoot-ms")
}

// BenchmarkSleepOvershoot measures how late a sleeping guest is stopped: each op calls a
// guest that asks WASI for a 5 s sleep (wat/sleep.wasm's sleep, wat/extismsleep.wasm's
// for Extism) under a 20 ms plugin timeout, and reports the overshoot past 20 ms: its
// mean ("overshoot-ms"), 99th percentile and maximum. As in BenchmarkDeadlineOvershoot,
// each op also pays for a fresh instance, inside the 20 ms. On a loaded machine the
// maximum mostly shows the scheduler; the 99th percentile is the figure to watch.
func BenchmarkSleepOvershoot(b *testing.B) {
	const timeout = 20 * time.Millisecond
	for _, bc := range []struct {
		name    string
		fixture string
		exec    host.Execution
	}{
		{"native-metered", "wat/sleep.wasm", host.ExecutionMetered},
		{"native-guarded", "wat/sleep.wasm", host.ExecutionGuarded},
		{"extism-metered", "wat/extismsleep.wasm", host.ExecutionMetered},
		{"extism-guarded", "wat/extismsleep.wasm", host.ExecutionGuarded},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h, _ := newHost(b, host.NewConfig())
			p := loadFixture(b, h, bc.fixture, host.PluginConfig{Timeout: timeout, Execution: bc.exec})
			var over []time.Duration
			var sum time.Duration
			for b.Loop() {
				start := time.Now()
				_, err := p.Call(context.Background(), "sleep", nil)
				d := time.Since(start) - timeout
				over = append(over, d)
				sum += d
				if !errors.Is(err, host.ErrTimeout) {
					b.Fatal(err)
				}
			}
			slices.Sort(over)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
			b.ReportMetric(ms(sum)/float64(len(over)), "overshoot-ms")
			b.ReportMetric(ms(over[len(over)*99/100]), "p99-overshoot-ms")
			b.ReportMetric(ms(over[len(over)-1]), "max-overshoot-ms")
		})
	}
}
