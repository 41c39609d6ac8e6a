package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	var reached atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer upstream.Close()
	httpcallPath, err := plugintest.Path("plugins/httpcall")
	require.NoError(t, err)
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
	t.Logf("answers %v; breaker %+v late %d canceled %d; the service saw %d requests", seen, b, *b.Late, *b.Canceled, reached.Load())
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
