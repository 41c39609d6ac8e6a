package host_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
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

// waitSnapshot waits for p's background snapshot, for as long as the test may run.
func waitSnapshot(t *testing.T, p *host.Plugin) {
	t.Helper()
	ended := host.BackgroundSnapshotEnded(p)
	require.NotNil(t, ended, "no background snapshot was started")
	select {
	case <-ended:
	case <-t.Context().Done():
		t.Fatal("the test ended before the background snapshot")
	}
}

// TestSnapshot_PooledInBackground: with the default configuration a pooled Go plugin
// takes its snapshot in the background once its pool makes a second instance (here a
// replacement of one the guest crashed); the instances made after that start from the
// snapshot and answer as the module's own did, crash and all.
func TestSnapshot_PooledInBackground(t *testing.T) {
	h, _ := newHost(t, host.Config{})
	ctx := context.Background()
	p := loadGo(t, h, "plugins/testdata/crash", host.PluginConfig{MaxInstances: 1})
	echo := func() {
		t.Helper()
		out, err := p.Call(ctx, "echo", []byte(`{"a":1}`))
		require.NoError(t, err)
		assert.JSONEq(t, `{"a":1}`, string(out))
	}
	crash := func() {
		t.Helper()
		_, err := p.Call(ctx, "crash", []byte(`{}`))
		require.ErrorIs(t, err, host.ErrTrap)
	}
	echo()
	assert.Nil(t, host.BackgroundSnapshotEnded(p), "one instance so far: no snapshot")
	crash()
	echo() // the second instance, from the module, starts the snapshot
	waitSnapshot(t, p)
	assert.Zero(t, p.Stats().FromSnapshot)
	for i := range 3 {
		crash()
		echo()
		assert.Equal(t, uint64(i+1), p.Stats().FromSnapshot)
	}
	st := p.Stats()
	assert.Equal(t, uint64(5), st.Created)
	assert.Equal(t, uint64(4), st.Discarded)
}

// TestSnapshot_PooledNotForConfigured: a pooled plugin with config keys gets no
// background snapshot: its instances' initialization reads the values, which a
// snapshot's could not.
func TestSnapshot_PooledNotForConfigured(t *testing.T) {
	h, _ := newHost(t, host.Config{})
	p := loadGo(t, h, "plugins/testdata/configured", host.PluginConfig{
		Config: map[string]string{"api_token": "x", "greeting": "hi"}, Prewarm: 3})
	assert.Nil(t, host.BackgroundSnapshotEnded(p))
	assert.Zero(t, p.Stats().FromSnapshot)
}

// TestSnapshot_PooledOff: SnapshotOff keeps a growing pool's instances on the module.
func TestSnapshot_PooledOff(t *testing.T) {
	h, _ := newHost(t, host.Config{})
	p := loadGo(t, h, "plugins/testdata/goecho", host.PluginConfig{Snapshot: host.SnapshotOff, Prewarm: 3})
	assert.Nil(t, host.BackgroundSnapshotEnded(p))
	assert.Equal(t, uint64(3), p.Stats().Created)
}

// TestSnapshot_CloseDuringBackgroundSnapshot: closing a plugin, then its host, while
// the background snapshot may still run ends both cleanly (under -race: no use of a
// closed runtime, nothing left running).
func TestSnapshot_CloseDuringBackgroundSnapshot(t *testing.T) {
	h, _ := newHost(t, host.Config{}) // closed again at the end: Close is idempotent
	p := loadGo(t, h, "plugins/core", host.PluginConfig{Prewarm: 2})
	require.NotNil(t, host.BackgroundSnapshotEnded(p))
	require.NoError(t, p.Close(context.Background()))
	require.NoError(t, h.Close(context.Background()))
	select {
	case <-host.BackgroundSnapshotEnded(p):
	default:
		t.Fatal("the host closed before the background snapshot ended")
	}
}

// TestSnapshot_PooledHammer: while a pooled plugin switches to its background snapshot,
// goroutines keep calling it, half of the calls crashing their instance; every answer is
// right and the counts are exact: one discard per crash, every instance accounted for.
func TestSnapshot_PooledHammer(t *testing.T) {
	const goroutines, rounds = 8, 25
	h, _ := newHost(t, host.Config{})
	ctx := context.Background()
	p := loadGo(t, h, "plugins/testdata/crash", host.PluginConfig{MaxInstances: 4}) // 4: see FromSnapshot below
	var echoes, crashes atomic.Int64
	hammer := func() {
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range rounds {
					in := fmt.Sprintf(`{"g":%d,"i":%d}`, g, i)
					out, err := p.Call(ctx, "echo", []byte(in))
					if assert.NoError(t, err) && assert.JSONEq(t, in, string(out)) {
						echoes.Add(1)
					}
					if _, err := p.Call(ctx, "crash", []byte(`{}`)); assert.ErrorIs(t, err, host.ErrTrap) {
						crashes.Add(1)
					}
				}
			})
		}
		wg.Wait()
	}
	hammer() // the first replacement starts the snapshot; the rest race with it
	waitSnapshot(t, p)
	hammer() // every replacement now comes from the snapshot
	const calls = 2 * goroutines * rounds
	assert.Equal(t, int64(calls), echoes.Load())
	assert.Equal(t, int64(calls), crashes.Load())
	st := p.Stats()
	assert.Equal(t, uint64(calls), st.Discarded, "one discard per crash")
	assert.Equal(t, st.Created, st.Destroyed+uint64(st.Live), "every instance accounted for")
	// The second hammer made goroutines×rounds instances (one per crash) less those alive
	// when it began, at most MaxInstances, plus those alive when it ended: all from the
	// snapshot.
	assert.GreaterOrEqual(t, st.FromSnapshot, uint64(goroutines*rounds-4), "the second hammer's replacements")
}
