package host_test

import (
	"context"
	"errors"
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
