package effect_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/effect"
	"github.com/onexhost/onex-host/host/events"
	"github.com/onexhost/onex-host/host/internal/hosttest"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// collect subscribes to every event topic and returns what arrives.
func collect(tb testing.TB, h *host.Host) func() []abi.Event {
	var mu sync.Mutex
	var got []abi.Event
	sub, err := h.Events().Subscribe("onex.evt.>", func(_ context.Context, e abi.Event) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, e)
		return nil
	}, events.SubscribeOptions{})
	require.NoError(tb, err)
	tb.Cleanup(sub.Close)
	return func() []abi.Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]abi.Event(nil), got...)
	}
}

func TestEffect_PublishesOnCommit(t *testing.T) {
	h := effectHost(t)
	got := collect(t, h)
	n := loadProxy(t, h, proxyGrants(t.TempDir()), effect.Config{})
	ev := `{"event_type":"test.proxied","topic":"onex.evt.test.proxied.v1","payload":{"n":1}}`
	out, err := n.Process(context.Background(), abi.EffectInput{EffectType: abi.OpEventsPublish, OperationData: json.RawMessage(ev)})
	require.NoError(t, err)
	assert.Equal(t, abi.TransactionCommitted, out.TransactionState)
	assert.NotEmpty(t, out.TransactionID)
	assert.Positive(t, out.FuelUsed, "the metered proxy reports its work")
	var resp abi.EventsPublishResponse
	require.NoError(t, json.Unmarshal(out.Result, &resp))
	require.Eventually(t, func() bool { return len(got()) == 1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, resp.EnvelopeID, got()[0].EnvelopeID)

	// A topic the manifest does not list is denied.
	_, err = n.Process(context.Background(), abi.EffectInput{EffectType: abi.OpEventsPublish,
		OperationData: json.RawMessage(`{"event_type":"x","topic":"onex.evt.test.other.v1"}`)})
	require.ErrorIs(t, err, host.ErrCapabilityDenied)
	assert.Equal(t, host.TransactionStats{Begun: 2, Committed: 1, RolledBack: 1}, h.TransactionStats())
}

func TestEffect_RetriesRetryableFailures(t *testing.T) {
	h := effectHost(t)
	n := loadProxy(t, h, proxyGrants(t.TempDir()), effect.Config{Retry: effect.RetryPolicy{BaseDelay: time.Millisecond, MaxRetries: 2}})
	out, err := n.Process(context.Background(), abi.EffectInput{EffectType: "fail"})
	require.ErrorIs(t, err, host.ErrUnavailable)
	assert.Equal(t, 2, out.RetryCount)
	assert.Equal(t, abi.TransactionRolledBack, out.TransactionState)
	assert.Equal(t, host.TransactionStats{Begun: 3, RolledBack: 3}, h.TransactionStats())

	zero := 0
	out, err = n.Process(context.Background(), abi.EffectInput{EffectType: "fail", MaxRetries: &zero})
	require.Error(t, err)
	assert.Equal(t, 0, out.RetryCount)
}

func TestEffect_LoadNeedsGrants(t *testing.T) {
	h := effectHost(t)
	grants := proxyGrants(t.TempDir())
	grants.KV = false
	_, err := h.Load(context.Background(), plugintest.Fixture(t, "wat/effectproxy.wasm"), host.PluginConfig{Grants: grants})
	require.ErrorIs(t, err, host.ErrCapabilityDenied)
	assert.Contains(t, err.Error(), "key-value store is not granted")
}

// flaky is an HTTP server that fails its first n requests with 503, then succeeds, and
// tracks how many requests it served at once.
type flaky struct {
	*httptest.Server
	fails              int64
	hits, now, maxSeen atomic.Int64
	delay              time.Duration
}

func newFlaky(tb testing.TB, fails int, delay time.Duration) *flaky {
	f := &flaky{fails: int64(fails), delay: delay}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur := f.now.Add(1)
		defer f.now.Add(-1)
		for {
			seen := f.maxSeen.Load()
			if cur <= seen || f.maxSeen.CompareAndSwap(seen, cur) {
				break
			}
		}
		time.Sleep(f.delay)
		if f.hits.Add(1) <= f.fails {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	tb.Cleanup(f.Close)
	return f
}

// get is an http.request effect input for the proxy.
func get(url string) abi.EffectInput {
	req, _ := json.Marshal(abi.HTTPRequest{Method: "POST", URL: url})
	return abi.EffectInput{EffectType: abi.OpHTTPRequest, OperationData: req}
}

func TestEffect_RetriesUntilTheServiceRecovers(t *testing.T) {
	h := effectHost(t)
	srv := newFlaky(t, 2, 0)
	n := loadProxy(t, h, proxyGrants(t.TempDir()), effect.Config{Retry: effect.RetryPolicy{BaseDelay: time.Millisecond}})
	out, err := n.Process(context.Background(), get(srv.URL))
	require.NoError(t, err)
	assert.Equal(t, 2, out.RetryCount)
	assert.Equal(t, int64(3), srv.hits.Load())
	var resp abi.HTTPResponse
	require.NoError(t, json.Unmarshal(out.Result, &resp))
	assert.Equal(t, 200, resp.Status)
	assert.Equal(t, "ok", string(resp.Body))
	// A POST without a compensating request is recorded as irreversible.
	assert.Equal(t, abi.TransactionCommitted, out.TransactionState)
	assert.Equal(t, 1, out.SideEffectsApplied)
}

func TestEffect_BreakerOpensAndFailsFast(t *testing.T) {
	// Breakers that open after 2 failures in 2 calls.
	cfg := host.NewConfig().WithDataDir("")
	cfg.Breakers = host.BreakerPolicy{MinRequests: 2, FailureThreshold: 2}
	h2, _ := hosttest.NewHost(t, cfg)
	srv := newFlaky(t, 1000, 0)
	n := loadProxy(t, h2, proxyGrants(t.TempDir()), effect.Config{Retry: effect.RetryPolicy{MaxRetries: -1}})
	for range 2 {
		_, err := n.Process(context.Background(), get(srv.URL))
		require.ErrorIs(t, err, host.ErrUnavailable)
	}
	_, err := n.Process(context.Background(), get(srv.URL))
	require.ErrorIs(t, err, host.ErrUnavailable)
	pe, ok := err.(*host.PluginError)
	require.True(t, ok)
	assert.Equal(t, "circuit_open", pe.Code)
	assert.Equal(t, int64(2), srv.hits.Load(), "the open breaker kept the third call from the server")
	service := "http:127.0.0.1"
	var state string
	for _, b := range h2.Breakers() {
		if b.Service == service {
			state = b.State.String()
		}
	}
	assert.Equal(t, "open", state)

	// An input can bypass the breakers; a reset closes it again.
	in := get(srv.URL)
	in.NoCircuitBreaker = true
	_, err = n.Process(context.Background(), in)
	require.ErrorIs(t, err, host.ErrUnavailable)
	assert.Equal(t, int64(3), srv.hits.Load())
	h2.ResetBreaker(service)
	_, err = n.Process(context.Background(), get(srv.URL))
	require.Error(t, err)
	assert.Equal(t, int64(4), srv.hits.Load())
}

func TestEffect_UngrantedHostAndPathDenied(t *testing.T) {
	h := effectHost(t)
	srv := newFlaky(t, 0, 0)
	grants := proxyGrants(t.TempDir())
	grants.Hosts = []string{"example.com"}
	n := loadProxy(t, h, grants, effect.Config{Retry: effect.RetryPolicy{MaxRetries: -1}})
	_, err := n.Process(context.Background(), get(srv.URL))
	require.ErrorIs(t, err, host.ErrCapabilityDenied)
	assert.Zero(t, srv.hits.Load())

	req, _ := json.Marshal(abi.FSWriteRequest{Path: "/etc/onex-host-test", Data: []byte("x")})
	_, err = n.Process(context.Background(), abi.EffectInput{EffectType: abi.OpFSWrite, OperationData: req})
	require.ErrorIs(t, err, host.ErrCapabilityDenied)
	assert.NoFileExists(t, "/etc/onex-host-test")
}

func TestEffect_SequentialMode(t *testing.T) {
	h := effectHost(t)
	srv := newFlaky(t, 0, 5*time.Millisecond)
	n := loadProxy(t, h, proxyGrants(t.TempDir()), effect.Config{Concurrency: 1})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			_, err := n.Process(context.Background(), get(srv.URL))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, int64(16), srv.hits.Load())
	assert.Equal(t, int64(1), srv.maxSeen.Load(), "concurrency 1 runs one effect at a time")

	// A caller whose context ends while it waits for its turn gets a typed error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := n.Process(ctx, get(srv.URL))
	require.ErrorIs(t, err, host.ErrCanceled)
}

func TestEffect_WholeEffectTimeout(t *testing.T) {
	h := effectHost(t)
	srv := newFlaky(t, 1000, 0)
	n := loadProxy(t, h, proxyGrants(t.TempDir()), effect.Config{Retry: effect.RetryPolicy{BaseDelay: time.Hour}})
	in := get(srv.URL)
	in.TimeoutMS = 50
	start := time.Now()
	out, err := n.Process(context.Background(), in)
	require.ErrorIs(t, err, host.ErrTimeout)
	assert.Less(t, time.Since(start), 5*time.Second, "timeout_ms bounds the wait between retries too")
	assert.Equal(t, 1, out.RetryCount)
}
