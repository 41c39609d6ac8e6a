package host_test

import (
	"testing"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/internal/cowmem"
)

// BenchmarkIsolation compares one 64 B identity call on goecho pooled (the default: the
// instance is reused), with isolation fresh (a new instance per call, from the snapshot,
// a few kept ready by a background refill), and fresh without a snapshot (every
// instance runs _initialize); fresh-noprefault is fresh without pre-faulting the
// working set its first instances taught the snapshot's memory image (cowmem). BENCHMARKS.md, "Snapshots and fresh isolation", holds the
// results.
func BenchmarkIsolation(b *testing.B) {
	in := echoInput(64)
	for _, v := range []struct {
		name string
		pc   host.PluginConfig
	}{
		{"pooled", host.PluginConfig{}},
		{"fresh", host.PluginConfig{Isolation: host.IsolationFresh, Prewarm: 2}},
		{"fresh-noprefault", host.PluginConfig{Isolation: host.IsolationFresh, Prewarm: 2}},
		{"fresh-nosnapshot", host.PluginConfig{Isolation: host.IsolationFresh, Prewarm: 2, Snapshot: host.SnapshotOff}},
	} {
		b.Run(v.name, func(b *testing.B) {
			cowmem.SetPrefault(v.name != "fresh-noprefault")
			defer cowmem.SetPrefault(true)
			benchHost(b, in, v.pc, false)
		})
	}
}
