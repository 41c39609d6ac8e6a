package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/compute"
	"github.com/onexhost/onex-host/host/server"
)

// sharedCaches opens n SharedCaches on one embedded server, each on its own connection,
// as n hosts would.
func sharedCaches(t *testing.T, n int, cfg cluster.SharedCacheConfig) []*cluster.SharedCache {
	t.Helper()
	_, caches := sharedCachesOn(t, n, cfg)
	return caches
}

// sharedCachesOn is sharedCaches, with the server.
func sharedCachesOn(t *testing.T, n int, cfg cluster.SharedCacheConfig) (*cluster.Embedded, []*cluster.SharedCache) {
	t.Helper()
	e := embedded(t)
	cfg.Logger = quiet
	out := make([]*cluster.SharedCache, n)
	for i := range out {
		nc, err := e.Connect("host")
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		out[i], err = cluster.NewSharedCache(context.Background(), nc, cfg)
		require.NoError(t, err)
		t.Cleanup(out[i].Close)
	}
	return e, out
}

func TestSharedCache_StampedeAcrossHostsComputesOnce(t *testing.T) {
	t.Parallel()
	// One caller per host, so that the test can tell the callers apart on the wire. The
	// lease outlasts the test's wait for them.
	const callers = 30
	e, caches := sharedCachesOn(t, callers, cluster.SharedCacheConfig{Lease: patience(t)})
	key := strings.Repeat("c1", 32)

	// A caller that finds the lease taken waits for the value, reading the lease: the
	// computation ends once every other caller is waiting (each host's reads of the lease
	// come from its connection's reply inbox, _INBOX.<connection>.<request>).
	watch, err := e.Connect("watch")
	require.NoError(t, err)
	defer watch.Close()
	var mu sync.Mutex
	waiting := map[string]bool{}
	everyone := make(chan struct{})
	_, err = watch.Subscribe("$JS.API.DIRECT.GET.KV_onex_cache.$KV.onex_cache.lease."+key, func(m *nats.Msg) {
		parts := strings.SplitN(m.Reply, ".", 3)
		if len(parts) < 3 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !waiting[parts[1]] {
			waiting[parts[1]] = true
			if len(waiting) == callers-1 {
				close(everyone)
			}
		}
	})
	require.NoError(t, err)
	require.NoError(t, watch.Flush())

	var computed atomic.Int64
	compute := func(context.Context) ([]byte, error) {
		computed.Add(1)
		select {
		case <-everyone:
			return []byte("42"), nil
		case <-time.After(patience(t)):
			return nil, errors.New("the other callers never all waited")
		}
	}
	var wg sync.WaitGroup
	var hits atomic.Int64
	for i := range callers {
		wg.Go(func() {
			v, hit, err := caches[i].Fetch(context.Background(), key, time.Minute, compute)
			assert.NoError(t, err)
			assert.Equal(t, "42", string(v))
			if hit {
				hits.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(1), computed.Load(), "30 callers on 30 hosts, one computation")
	assert.Equal(t, int64(callers-1), hits.Load())
	var waits uint64
	for _, c := range caches {
		waits += c.Stats().Waits
	}
	assert.Equal(t, uint64(callers-1), waits, "every other caller waited for the computation")
}

func TestSharedCache_FailedComputationReleasesTheLease(t *testing.T) {
	t.Parallel()
	caches := sharedCaches(t, 2, cluster.SharedCacheConfig{Lease: 30 * time.Second})
	key := strings.Repeat("d2", 32)
	boom := errors.New("boom")
	started := make(chan struct{})
	release := make(chan struct{})
	go func() {
		_, _, err := caches[0].Fetch(context.Background(), key, time.Minute, func(context.Context) ([]byte, error) {
			close(started)
			<-release
			return nil, boom
		})
		assert.ErrorIs(t, err, boom)
	}()
	<-started
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The lease is held: this waits, then computes itself once the lease is released
		// — long before the 30 s lease would expire.
		v, hit, err := caches[1].Fetch(context.Background(), key, time.Minute, func(context.Context) ([]byte, error) {
			return []byte("7"), nil
		})
		assert.NoError(t, err)
		assert.False(t, hit)
		assert.Equal(t, "7", string(v))
	}()
	time.Sleep(50 * time.Millisecond)
	close(release)
	receive(t, done, "the waiting host computing after the lease was released")
	assert.Zero(t, caches[0].Stats().Stores, "errors are not stored")
}

func TestSharedCache_InvalidationReachesEveryHost(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	connect := func(id string) func() (*nats.Conn, error) { return func() (*nats.Conn, error) { return e.Connect(id) } }
	a := newMember(t, "a", connect("a"), memberOptions{shared: true, nodes: onlyCore})
	b := newMember(t, "b", connect("b"), memberOptions{shared: true, nodes: onlyCore})
	ctx := context.Background()
	body := []byte(`{"computation_type":"sha256","data":"abc"}`)
	for _, m := range []*member{a, b} {
		r := m.srv.Invoke(ctx, "core", server.OperationCompute, body)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, 1, m.host.CacheStats().ValidEntries, "held locally by %s", m.id)
	}

	// Invalidated through a node of A (same build, same keys): B's local copy goes too,
	// by the bucket's watch.
	p, err := a.host.LoadFile(ctx, corePath, host.PluginConfig{})
	require.NoError(t, err)
	defer p.Close(ctx)
	node, err := compute.New(p)
	require.NoError(t, err)
	node.Invalidate("sha256", []byte(`"abc"`))
	assert.Zero(t, a.host.CacheStats().ValidEntries)
	eventually(t, func() bool { return b.host.CacheStats().ValidEntries == 0 })

	// Both compute again: the shared level no longer has it either.
	r := b.srv.Invoke(ctx, "core", server.OperationCompute, body)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Contains(t, string(r.Body), `"cache_hit":false`)
}

// TestSharedCache_OutlivesARestartUntilCleared: the JetStream level persists with the
// NATS store on purpose (its keys name the plugin build, the computation and the input,
// so a stored value stays right). A fresh host on a restarted server finds a previous
// run's value there: a shared hit, counted as one. DELETE /v1/cache clears both levels,
// so the next request runs the guest again.
func TestSharedCache_OutlivesARestartUntilCleared(t *testing.T) {
	t.Parallel()
	store := t.TempDir()
	start := func() *cluster.Embedded {
		e, err := cluster.StartEmbedded(cluster.EmbeddedConfig{StoreDir: store, Logger: quiet})
		require.NoError(t, err)
		return e
	}
	ctx := context.Background()
	body := []byte(`{"computation_type":"sha256","data":"persisted"}`)
	outcome := func(m *member) abi.ComputeOutput {
		t.Helper()
		r := m.srv.Invoke(ctx, "core", server.OperationCompute, body)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var out abi.ComputeOutput
		require.NoError(t, json.Unmarshal(r.Body, &out))
		return out
	}

	// The first run computes and shares the value.
	e := start()
	first := newMember(t, "first", func() (*nats.Conn, error) { return e.Connect("first") }, memberOptions{shared: true, nodes: onlyCore})
	out := outcome(first)
	assert.Equal(t, "miss", out.CacheOutcome)
	first.stop(t)
	e.Shutdown()

	// A fresh host on the restarted server: its local level is empty, the shared one
	// still holds the value.
	e = start()
	t.Cleanup(e.Shutdown)
	m := newMember(t, "second", func() (*nats.Conn, error) { return e.Connect("second") }, memberOptions{shared: true, nodes: onlyCore})
	out = outcome(m)
	assert.Equal(t, "shared_hit", out.CacheOutcome)
	assert.True(t, out.CacheHit)
	s := m.host.CacheStats()
	assert.Equal(t, [4]uint64{0, 1, 0, 0}, [4]uint64{s.Hits, s.SharedHits, s.Joined, s.Misses}, "hits, shared_hits, joined, misses")
	assert.Equal(t, "hit", outcome(m).CacheOutcome, "now held locally too")

	// DELETE /v1/cache clears both levels.
	rec := httptest.NewRecorder()
	m.srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, "/v1/cache", nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	out = outcome(m)
	assert.Equal(t, "miss", out.CacheOutcome, "neither level has it after the clear")
	assert.False(t, out.CacheHit)
	s = m.host.CacheStats()
	assert.Equal(t, [4]uint64{1, 1, 0, 1}, [4]uint64{s.Hits, s.SharedHits, s.Joined, s.Misses}, "hits, shared_hits, joined, misses")
}

// TestSharedCache_ReleaseLeavesAnotherHostsLease: a host whose lease expired during its
// computation, and was taken by another host, does not remove that host's lease when it
// finishes.
func TestSharedCache_ReleaseLeavesAnotherHostsLease(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	nc, err := e.Connect("host")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	c, err := cluster.NewSharedCache(context.Background(), nc, cluster.SharedCacheConfig{Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	kv, err := js.KeyValue(context.Background(), "onex_cache")
	require.NoError(t, err)

	key := strings.Repeat("e3", 32)
	_, _, err = c.Fetch(context.Background(), key, time.Minute, func(ctx context.Context) ([]byte, error) {
		// The lease expires and another host takes it, while this host computes.
		require.NoError(t, kv.Purge(ctx, "lease."+key))
		_, err := kv.Create(ctx, "lease."+key, []byte("other-host"))
		require.NoError(t, err)
		return []byte("1"), nil
	})
	require.NoError(t, err)
	lease, err := kv.Get(context.Background(), "lease."+key)
	require.NoError(t, err, "the other host's lease is still there")
	assert.Equal(t, "other-host", string(lease.Value()))
	assert.Zero(t, c.Stats().Errors, "losing the lease is not a failure")
}
