package host_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
)

// tallyPath is the WAT guest that counts its calls in guest memory.
var tallyPath = filepath.Join("..", "plugins", "testdata", "wat", "tally.wasm")

// hammerTally calls the tally guest from many goroutines and returns every answer.
func hammerTally(t *testing.T, p *host.Plugin) map[string]int {
	const goroutines, calls = 16, 40
	var (
		mu      sync.Mutex
		answers = map[string]int{}
		wg      sync.WaitGroup
	)
	for range goroutines {
		wg.Go(func() {
			for range calls {
				out, err := p.Call(context.Background(), "default", nil)
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				answers[string(out)]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return answers
}

// TestIsolationFresh_Hammer: with isolation fresh no call sees what an earlier one left
// in guest memory, however many goroutines call at once; the same plugin pooled does
// (which proves the guest's counter would show a leak).
func TestIsolationFresh_Hammer(t *testing.T) {
	h, _ := newHost(t, host.Config{})
	fresh, err := h.LoadFile(context.Background(), tallyPath, host.PluginConfig{
		Isolation: host.IsolationFresh, MaxInstances: 4, Prewarm: 2})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"1": 16 * 40}, hammerTally(t, fresh))

	pooled, err := h.LoadFile(context.Background(), tallyPath, host.PluginConfig{MaxInstances: 4})
	require.NoError(t, err)
	answers := hammerTally(t, pooled)
	assert.Less(t, answers["1"], 16*40, "pooled instances keep their count: %v", answers)
}

// TestSnapshot_HostGo: a standard-Go plugin loaded with snapshots, pooled and fresh,
// answers as it does without.
func TestSnapshot_HostGo(t *testing.T) {
	h, _ := newHost(t, host.Config{})
	in := []byte(`[1,2,3.5]`)
	want, err := loadGo(t, h, "plugins/core", host.PluginConfig{Snapshot: host.SnapshotOff}).Call(context.Background(), "sum_numbers", in)
	require.NoError(t, err)
	for _, pc := range []host.PluginConfig{
		{Snapshot: host.SnapshotOn},
		{Isolation: host.IsolationFresh, Prewarm: 1},
		{Isolation: host.IsolationFresh, Execution: host.ExecutionGuarded},
	} {
		p := loadGo(t, h, "plugins/core", pc)
		for range 3 {
			got, err := p.Call(context.Background(), "sum_numbers", in)
			require.NoError(t, err, "%+v", pc)
			assert.Equal(t, string(want), string(got), "%+v", pc)
		}
	}
}

// TestIsolation_ConfigRefused: an unknown isolation or snapshot mode fails the load.
func TestIsolation_ConfigRefused(t *testing.T) {
	h, _ := newHost(t, host.Config{})
	_, err := h.LoadFile(context.Background(), tallyPath, host.PluginConfig{Isolation: "shared"})
	assert.ErrorContains(t, err, "isolation")
	_, err = h.LoadFile(context.Background(), tallyPath, host.PluginConfig{Snapshot: "always"})
	assert.ErrorContains(t, err, "snapshot")
}
