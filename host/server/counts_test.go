package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// scrape reads the metric family name from url's /metrics, keyed by its labels as
// "name=value" pairs in label order, joined by spaces.
func scrape(t *testing.T, url, name string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	out := map[string]float64{}
	for _, m := range families[name].GetMetric() {
		var key []string
		for _, l := range m.GetLabel() {
			key = append(key, l.GetName()+"="+l.GetValue())
		}
		v := m.GetCounter().GetValue()
		if m.GetGauge() != nil {
			v = m.GetGauge().GetValue()
		}
		out[strings.Join(key, " ")] = v
	}
	return out
}

// serve starts a server for h with specs on a loopback listener; h is closed after the
// test.
func serve(t *testing.T, h *host.Host, specs ...server.NodeSpec) (*server.Server, string) {
	t.Helper()
	srv := server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, srv.Load(context.Background(), specs))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		require.NoError(t, h.Close(context.Background()))
	})
	return srv, ts.URL
}

// TestServer_BreakerCountsEveryCall is omnibase_core's breaker scenario through the HTTP
// API: 10 clients × 5 effects whose one HTTP request fails, against a breaker that opens
// at 5 failures. Every one of the 50 calls is in exactly one of /v1/breakers' counts (and
// the same in /metrics), and each answer a client saw matches a count: a refused call is a
// 503 circuit_open, retryable, counted as rejected; a call that reached the service is a
// failure, or late when the breaker opened while it ran. The split between late and
// rejected depends on scheduling; the sums do not.
func TestServer_BreakerCountsEveryCall(t *testing.T) {
	t.Parallel()
	var reached atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer upstream.Close()
	cfg := host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir("").WithLogger(slog.New(slog.DiscardHandler))
	cfg.Breakers = host.BreakerPolicy{MinRequests: 5, FailureThreshold: 5}
	h, err := host.New(context.Background(), cfg)
	require.NoError(t, err)
	_, url := serve(t, h, server.NodeSpec{Path: httpcallPath,
		Plugin: host.PluginConfig{Grants: host.Grants{Hosts: []string{"127.0.0.1"}}}})

	const clients, calls = 10, 5
	data, err := json.Marshal(map[string]any{"url": upstream.URL + "/fail"})
	require.NoError(t, err)
	body, err := json.Marshal(map[string]any{"effect_type": "call", "operation_data": json.RawMessage(data), "retry_enabled": false})
	require.NoError(t, err)
	var mu sync.Mutex
	seen := map[string]int{} // "status code" -> answers
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for range calls {
				resp, err := http.Post(url+"/v1/nodes/httpcall/effect", "application/json", strings.NewReader(string(body)))
				if !assert.NoError(t, err) {
					return
				}
				var out struct {
					Error struct {
						Code      string `json:"code"`
						Retryable bool   `json:"retryable"`
					} `json:"error"`
				}
				assert.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
				resp.Body.Close()
				if out.Error.Code == "circuit_open" {
					assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "an open breaker is unavailable")
					assert.True(t, out.Error.Retryable)
				}
				mu.Lock()
				seen[out.Error.Code]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	var breakers []struct {
		Service   string  `json:"service"`
		State     string  `json:"state"`
		Successes uint64  `json:"successes"`
		Failures  uint64  `json:"failures"`
		Rejected  uint64  `json:"rejected"`
		Late      *uint64 `json:"late"`
		Canceled  *uint64 `json:"canceled"`
	}
	resp, err := http.Get(url + "/v1/breakers")
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&breakers))
	resp.Body.Close()
	require.Len(t, breakers, 1)
	b := breakers[0]
	require.NotNil(t, b.Late, "late is always reported")
	require.NotNil(t, b.Canceled, "canceled is always reported")
	t.Logf("answers %v; breaker %s %s: successes %d failures %d rejected %d late %d canceled %d; the service saw %d requests",
		seen, b.Service, b.State, b.Successes, b.Failures, b.Rejected, *b.Late, *b.Canceled, reached.Load())
	assert.Equal(t, "open", b.State)
	assert.EqualValues(t, clients*calls, b.Successes+b.Failures+b.Rejected+*b.Late+*b.Canceled, "every call is counted once")
	assert.EqualValues(t, 5, b.Failures, "the breaker opened at the 5th failure")
	assert.Zero(t, b.Successes)
	assert.Zero(t, *b.Canceled, "no client gave up")
	assert.EqualValues(t, seen["circuit_open"], b.Rejected, "each circuit_open answer is a rejection")
	assert.EqualValues(t, clients*calls-seen["circuit_open"], b.Failures+*b.Late, "each other answer reached the service")
	assert.EqualValues(t, reached.Load(), b.Failures+*b.Late, "what the service saw")

	m := scrape(t, url, "onex_breaker_calls_total")
	svc := "service=" + b.Service
	assert.Equal(t, map[string]float64{
		"outcome=success " + svc: 0, "outcome=failure " + svc: float64(b.Failures), "outcome=rejected " + svc: float64(b.Rejected),
		"outcome=late " + svc: float64(*b.Late), "outcome=canceled " + svc: float64(*b.Canceled),
	}, m)
}

// passLevel is a SharedCache that never has a value: it counts the computations that
// reach it (each one guest run) and, when gate is set, holds each until gate is closed.
type passLevel struct {
	gate     chan struct{}
	computed atomic.Int64
}

func (l *passLevel) Fetch(ctx context.Context, _ string, _ time.Duration, compute func(context.Context) ([]byte, error)) ([]byte, bool, error) {
	if l.gate != nil {
		select {
		case <-l.gate:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
	l.computed.Add(1)
	v, err := compute(ctx)
	return v, false, err
}

func (l *passLevel) Invalidate(context.Context, string) error { return nil }
func (l *passLevel) Clear(context.Context) error              { return nil }

// cacheServer serves the core node on a host whose second cache level is level.
func cacheServer(t *testing.T, level host.SharedCache) string {
	t.Helper()
	h, err := host.New(context.Background(), host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir("").
		WithLogger(slog.New(slog.DiscardHandler)).WithSharedCache(level))
	require.NoError(t, err)
	_, url := serve(t, h, server.NodeSpec{Path: corePath})
	return url
}

// compute posts one computation and decodes its output.
func compute(t *testing.T, url, body string) abi.ComputeOutput {
	t.Helper()
	resp, err := http.Post(url+"/v1/nodes/core/compute", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	var out abi.ComputeOutput
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// cacheStats reads GET /v1/cache.
func cacheStats(t *testing.T, url string) host.CacheStats {
	t.Helper()
	resp, err := http.Get(url + "/v1/cache")
	require.NoError(t, err)
	defer resp.Body.Close()
	var s host.CacheStats
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
	return s
}

// TestServer_CacheJoinedComputation is omnibase_core's shared-computation scenario through
// the HTTP API: 10 callers of one uncached key at once. The guest runs once; the caller
// that started it is the one miss, the 9 that waited for it are joined, in the output,
// in /v1/cache and in /metrics. The computation is held until all 10 wait for it, so the
// counts are exact.
func TestServer_CacheJoinedComputation(t *testing.T) {
	t.Parallel()
	const callers = 10
	level := &passLevel{gate: make(chan struct{})}
	url := cacheServer(t, level)
	const body = `{"computation_type":"sha256","data":"joined"}`

	outs := make([]abi.ComputeOutput, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { outs[i] = compute(t, url, body) })
	}
	require.Eventually(t, func() bool { return cacheStats(t, url).Waiting == callers }, untilDeadline(t), 5*time.Millisecond,
		"all callers wait for the one computation")
	close(level.gate)
	wg.Wait()

	assert.EqualValues(t, 1, level.computed.Load(), "the guest ran once")
	outcomes := map[string]int{}
	for _, out := range outs {
		outcomes[out.CacheOutcome]++
		assert.False(t, out.CacheHit, "nobody found it stored")
		assert.Equal(t, outs[0].Result, out.Result)
	}
	assert.Equal(t, map[string]int{"miss": 1, "joined": callers - 1}, outcomes)

	out := compute(t, url, body)
	assert.Equal(t, "hit", out.CacheOutcome)
	assert.True(t, out.CacheHit)
	assert.Zero(t, out.ProcessingTimeMS)

	s := cacheStats(t, url)
	assert.Equal(t, [6]uint64{1, 0, callers - 1, 1, callers + 1, 0},
		[6]uint64{s.Hits, s.SharedHits, s.Joined, s.Misses, s.TotalRequests, uint64(s.Waiting)},
		"hits, shared_hits, joined, misses, total_requests, waiting")
	assert.Equal(t, map[string]float64{"result=hit": 1, "result=shared_hit": 0, "result=joined": callers - 1, "result=miss": 1},
		scrape(t, url, "onex_cache_requests_total"))
}

// TestServer_CacheCountsHammer runs many clients over a few keys, clearing the cache now
// and then, and checks that the outcomes the clients saw, /v1/cache and /metrics agree
// exactly, and that every miss, and only a miss, ran the guest.
func TestServer_CacheCountsHammer(t *testing.T) {
	t.Parallel()
	const clients, calls, keys = 8, 25, 4
	level := &passLevel{}
	url := cacheServer(t, level)
	var mu sync.Mutex
	seen := map[string]uint64{}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range calls {
				if c == 0 && i%10 == 9 {
					req, _ := http.NewRequest(http.MethodDelete, url+"/v1/cache", nil)
					resp, err := http.DefaultClient.Do(req)
					if assert.NoError(t, err) {
						assert.Equal(t, http.StatusOK, resp.StatusCode)
						resp.Body.Close()
					}
				}
				out := compute(t, url, fmt.Sprintf(`{"computation_type":"sha256","data":"k%d"}`, (c+i)%keys))
				assert.Equal(t, out.CacheOutcome == "hit", out.CacheHit)
				mu.Lock()
				seen[out.CacheOutcome]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	s := cacheStats(t, url)
	t.Logf("seen %v; %+v; guest runs %d", seen, s, level.computed.Load())
	assert.Equal(t, map[string]uint64{"hit": s.Hits, "joined": s.Joined, "miss": s.Misses},
		map[string]uint64{"hit": seen["hit"], "joined": seen["joined"], "miss": seen["miss"]})
	for outcome := range seen {
		assert.Contains(t, []string{"hit", "joined", "miss"}, outcome, "no shared level answered")
	}
	assert.EqualValues(t, clients*calls, s.TotalRequests)
	assert.EqualValues(t, level.computed.Load(), s.Misses, "one guest run per miss")
	assert.GreaterOrEqual(t, s.Misses, uint64(keys))
	assert.Equal(t, map[string]float64{"result=hit": float64(s.Hits), "result=shared_hit": 0,
		"result=joined": float64(s.Joined), "result=miss": float64(s.Misses)},
		scrape(t, url, "onex_cache_requests_total"))
}

// TestServer_NodePoolStats checks the pool object of /v1/nodes/{name}: snake_case names,
// destroyed instances included.
func TestServer_NodePoolStats(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	in := `{"computation_type":"sum_numbers","data":[1,2],"cache_enabled":false}`
	require.Equal(t, 200, f.call(t, "POST", "/v1/nodes/core/compute", "", "", []byte(in), nil))
	var node struct {
		Pool map[string]any `json:"pool"`
	}
	require.Equal(t, 200, f.call(t, "GET", "/v1/nodes/core", "", "", nil, &node))
	assert.ElementsMatch(t, []string{"live", "idle", "in_use", "waiting", "max", "created", "destroyed", "discarded", "trimmed", "acquired", "from_snapshot"},
		slices.Collect(maps.Keys(node.Pool)))
	assert.Positive(t, node.Pool["acquired"])
	created := scrape(t, f.url, "onex_pool_created_total")
	assert.Equal(t, node.Pool["created"], created["node=core source=module"]+created["node=core source=snapshot"],
		"the metric splits the pool's created count by source: %v", created)
	assert.Equal(t, node.Pool["from_snapshot"], created["node=core source=snapshot"])
}
