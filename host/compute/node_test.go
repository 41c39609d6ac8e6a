package compute_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/compute"
	"github.com/onexhost/onex-host/host/internal/hosttest"
)

func newCoreNode(t *testing.T, cfg host.Config) (*host.Host, *compute.Node, *hosttest.Recorder) {
	t.Helper()
	h, rec := hosttest.NewHost(t, cfg)
	node, err := compute.New(hosttest.LoadGo(t, h, "plugins/core", host.PluginConfig{}))
	require.NoError(t, err)
	return h, node, rec
}

func input(computation, data string) abi.ComputeInput {
	return abi.ComputeInput{ComputationType: computation, Data: json.RawMessage(data)}
}

func TestComputeNode_Cache(t *testing.T) {
	h, node, _ := newCoreNode(t, host.NewConfig())
	ctx := context.Background()
	p := node.Plugin()
	calls := func() uint64 { return p.Stats().Acquired }

	first, err := node.Process(ctx, input("stats", `[1,2,3]`))
	require.NoError(t, err)
	assert.False(t, first.CacheHit)
	before := calls()

	second, err := node.Process(ctx, input("stats", `[1,2,3]`))
	require.NoError(t, err)
	assert.True(t, second.CacheHit)
	assert.Equal(t, 0.0, second.ProcessingTimeMS)
	assert.Equal(t, string(first.Result), string(second.Result), "the original result bytes")
	assert.Equal(t, before, calls(), "a hit runs no guest code")

	second.Result[0] = 'X' // the caller's copy, not the cache's
	third, err := node.Process(ctx, input("stats", `[1,2,3]`))
	require.NoError(t, err)
	assert.Equal(t, string(first.Result), string(third.Result))

	noCache := input("stats", `[1,2,3]`)
	noCache.NoCache = true
	out, err := node.Process(ctx, noCache)
	require.NoError(t, err)
	assert.False(t, out.CacheHit, "cache_enabled: false bypasses the cache")

	for _, in := range []abi.ComputeInput{input("stats", `[1,2,4]`), input("sum_numbers", `[1,2,3]`)} {
		out, err := node.Process(ctx, in)
		require.NoError(t, err)
		assert.False(t, out.CacheHit, "another input or computation is another key")
	}

	s := h.CacheStats()
	assert.Equal(t, uint64(2), s.Hits)
	assert.Equal(t, uint64(3), s.Misses)
	assert.Equal(t, uint64(5), s.TotalRequests)
	assert.InDelta(t, 40.0, s.HitRate, 1e-9)
	assert.Equal(t, host.DefaultCacheEntries, s.MaxSize)

	node.Invalidate("stats", []byte(`[1,2,3]`))
	out, err = node.Process(ctx, input("stats", `[1,2,3]`))
	require.NoError(t, err)
	assert.False(t, out.CacheHit, "invalidated")

	require.NoError(t, h.ClearCache(context.Background()))
	out, err = node.Process(ctx, input("stats", `[1,2,3]`))
	require.NoError(t, err)
	assert.False(t, out.CacheHit, "cleared")

	_, err = node.Process(ctx, input("stats", `[]`))
	require.ErrorIs(t, err, host.ErrFailed)
	before = calls()
	_, err = node.Process(ctx, input("stats", `[]`))
	require.ErrorIs(t, err, host.ErrFailed)
	assert.Equal(t, before+1, calls(), "errors are never cached")
}

func TestComputeNode_CacheOnlyDeterministic(t *testing.T) {
	h, _ := hosttest.NewHost(t, host.NewConfig())
	node, err := compute.New(hosttest.LoadGo(t, h, "plugins/testdata/chatty", host.PluginConfig{}))
	require.NoError(t, err)
	for range 2 {
		out, err := node.Process(context.Background(), input("alloc", `16`))
		require.NoError(t, err)
		assert.False(t, out.CacheHit, "chatty's manifest does not declare it deterministic")
	}
	assert.Equal(t, uint64(0), h.CacheStats().TotalRequests)
}

// TestComputeNode_Stampede: 64 goroutines ask for the same uncached input at once; the
// guest runs once and all 64 get the same result.
func TestComputeNode_Stampede(t *testing.T) {
	const goroutines = 64
	_, node, _ := newCoreNode(t, host.NewConfig())
	before := node.Plugin().Stats().Acquired
	data := make([]float64, 5000)
	for i := range data {
		data[i] = float64(i)
	}
	raw, err := json.Marshal(data)
	require.NoError(t, err)

	results := make([]string, goroutines)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			<-start
			out, err := node.Process(context.Background(), input("stats", string(raw)))
			if assert.NoError(t, err) {
				results[g] = string(out.Result)
			}
		})
	}
	close(start)
	wg.Wait()
	guestCalls := node.Plugin().Stats().Acquired - before
	assert.Equal(t, uint64(1), guestCalls, "one guest call for 64 callers")
	for _, r := range results {
		assert.Equal(t, results[0], r)
	}
	m := node.Metrics()["stats"]
	assert.Equal(t, uint64(goroutines), m.TotalOperations)
	assert.Equal(t, uint64(goroutines), m.SuccessCount)
}

func TestComputeNode_ProcessBatch(t *testing.T) {
	_, node, _ := newCoreNode(t, host.NewConfig().WithMaxInstances(2))
	ctx := context.Background()
	var inputs []abi.ComputeInput
	for i := range 100 {
		if i == 37 {
			inputs = append(inputs, input("stats", `[]`)) // fails
			continue
		}
		inputs = append(inputs, input("sum_numbers", fmt.Sprintf("[%d,%d]", i, i)))
	}

	t.Run("results in input order, failures in place", func(t *testing.T) {
		results, err := node.ProcessBatch(ctx, inputs, compute.BatchOptions{Workers: 2})
		require.NoError(t, err)
		require.Len(t, results, len(inputs))
		for i, r := range results {
			if i == 37 {
				require.ErrorIs(t, r.Err, host.ErrFailed)
				continue
			}
			require.NoError(t, r.Err)
			assert.Equal(t, strconv.Itoa(2*i), string(r.Output.Result))
			assert.True(t, r.Output.ParallelExecutionUsed)
		}
	})
	t.Run("one worker is not parallel", func(t *testing.T) {
		results, err := node.ProcessBatch(ctx, inputs[:3], compute.BatchOptions{Workers: 1})
		require.NoError(t, err)
		for _, r := range results {
			assert.False(t, r.Output.ParallelExecutionUsed)
		}
	})
	t.Run("fail fast", func(t *testing.T) {
		results, err := node.ProcessBatch(ctx, inputs, compute.BatchOptions{Workers: 1, FailFast: true})
		require.ErrorIs(t, err, host.ErrFailed)
		require.NoError(t, results[36].Err)
		require.ErrorIs(t, results[37].Err, host.ErrFailed)
		for _, r := range results[38:] {
			require.ErrorIs(t, r.Err, host.ErrCanceled, "items after the failure are skipped")
		}
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		results, err := node.ProcessBatch(ctx, inputs, compute.BatchOptions{Workers: 2})
		require.ErrorIs(t, err, context.Canceled)
		for _, r := range results {
			require.ErrorIs(t, r.Err, host.ErrCanceled)
		}
	})
	t.Run("empty", func(t *testing.T) {
		results, err := node.ProcessBatch(ctx, nil, compute.BatchOptions{})
		require.NoError(t, err)
		assert.Empty(t, results)
	})
}

// TestComputeNode_BatchCancelStopsPromptly: canceling a batch of runaway items returns
// within a deadline's reach, not after every item.
func TestComputeNode_BatchCancelStopsPromptly(t *testing.T) {
	h, _ := hosttest.NewHost(t, host.NewConfig().WithMaxInstances(2))
	node, err := compute.New(hosttest.LoadGo(t, h, "plugins/testdata/loop", host.PluginConfig{Timeout: time.Minute}))
	require.NoError(t, err)
	inputs := make([]abi.ComputeInput, 50)
	for i := range inputs {
		inputs[i] = input("spin", "null")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	results, err := node.ProcessBatch(ctx, inputs, compute.BatchOptions{Workers: 2})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
	for _, r := range results {
		require.ErrorIs(t, r.Err, host.ErrTimeout)
	}
}

func TestComputeNode_Metrics(t *testing.T) {
	const goroutines, calls = 16, 50
	_, node, rec := newCoreNode(t, host.NewConfig().WithSlowThreshold(time.Nanosecond))
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				in := input("sum_numbers", fmt.Sprintf("[%d,%d]", g, i))
				in.NoCache = true
				_, err := node.Process(context.Background(), in)
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	_, err := node.Process(context.Background(), input("sum_numbers", `"x"`))
	require.ErrorIs(t, err, host.ErrInvalidInput)

	m := node.Metrics()["sum_numbers"]
	assert.Equal(t, uint64(goroutines*calls+1), m.TotalOperations)
	assert.Equal(t, uint64(goroutines*calls), m.SuccessCount)
	assert.Equal(t, uint64(1), m.ErrorCount)
	assert.Equal(t, uint64(goroutines*calls+1), m.TotalItemsProcessed)
	assert.Greater(t, m.MaxProcessingTimeMS, 0.0)
	assert.LessOrEqual(t, m.MinProcessingTimeMS, m.AvgProcessingTimeMS)
	assert.LessOrEqual(t, m.AvgProcessingTimeMS, m.MaxProcessingTimeMS)
	slow := rec.Find("slow operation")
	assert.Len(t, slow, goroutines*calls+1, "every operation passed the 1ns threshold")
	assert.Equal(t, "sum_numbers", slow[0].Attrs["computation"])
}
