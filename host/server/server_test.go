package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
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

// corePath, fileopsPath and httpcallPath are the Go plugins these tests load, built and
// warmed (compiled outside the race detector, see plugintest) by TestMain.
var corePath, fileopsPath, httpcallPath string

func TestMain(m *testing.M) {
	err := func() error {
		for _, p := range []struct {
			path *string
			dir  string
		}{{&corePath, "plugins/core"}, {&fileopsPath, "plugins/fileops"}, {&httpcallPath, "plugins/httpcall"}} {
			var err error
			if *p.path, err = plugintest.Path(p.dir); err != nil {
				return err
			}
		}
		return plugintest.Warm(corePath, fileopsPath, httpcallPath)
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// untilDeadline is how long a wait in t may last: until shortly before the test binary's
// deadline (-timeout), so that a wait that never ends fails with its own message rather
// than the binary's panic, and no wait is a guess at how loaded the machine is.
func untilDeadline(t *testing.T) time.Duration {
	d, ok := t.Deadline()
	if !ok {
		return time.Hour
	}
	return time.Until(d) * 9 / 10
}

const (
	invokeToken = "invoke-secret"
	adminToken  = "admin-secret"
)

// fixture is a server on a real loopback listener with the core, fileops and versioned
// nodes.
type fixture struct {
	host    *host.Host
	srv     *server.Server
	url     string
	dir     string // fileops' granted directory
	version string // the versioned node's file
}

func newFixture(t testing.TB, tokens map[string]server.Role) *fixture {
	t.Helper()
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir("").
		WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	f := &fixture{host: h, dir: t.TempDir()}
	f.version = filepath.Join(t.TempDir(), "versioned.wasm")
	copyFile(t, filepath.Join(plugintest.Root(), "plugins/testdata/wat/versioned1.wasm"), f.version)
	f.srv = server.New(h, server.Options{Tokens: tokens, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, f.srv.Load(ctx, []server.NodeSpec{
		{Path: corePath},
		{Path: fileopsPath, Plugin: host.PluginConfig{Grants: host.Grants{Paths: []host.PathGrant{{Dir: f.dir}}}}},
		{Path: f.version},
	}))
	ts := httptest.NewServer(f.srv.Handler())
	f.url = ts.URL
	t.Cleanup(func() {
		ts.Close()
		require.NoError(t, h.Close(ctx))
	})
	return f
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	tmp := to + ".tmp"
	require.NoError(t, os.WriteFile(tmp, b, 0o644))
	require.NoError(t, os.Rename(tmp, to))
}

// call sends one request and decodes the JSON response into out (when not nil).
func (f *fixture) call(t *testing.T, method, path, token, contentType string, body []byte, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, bytes.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out), "%s", b)
	}
	return resp.StatusCode
}

func TestServer_ConcurrentClients(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	const clients, calls = 16, 10
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range calls {
				in, _ := json.Marshal(abi.ComputeInput{ComputationType: "sum_numbers", Data: json.RawMessage(fmt.Sprintf("[%d,%d]", c, i)), NoCache: true})
				var out abi.ComputeOutput
				if !assert.Equal(t, 200, f.call(t, "POST", "/v1/nodes/core/compute", "", "", in, &out)) {
					return
				}
				assert.JSONEq(t, fmt.Sprint(c+i), string(out.Result))
			}
			path := filepath.Join(f.dir, fmt.Sprintf("c%d.txt", c))
			data, _ := json.Marshal(map[string]string{"path": path, "content": fmt.Sprint(c)})
			in, _ := json.Marshal(abi.EffectInput{EffectType: "write", OperationData: data})
			var out abi.EffectOutput
			assert.Equal(t, 200, f.call(t, "POST", "/v1/nodes/fileops/effect", "", "", in, &out))
			assert.Equal(t, abi.TransactionCommitted, out.TransactionState)
		})
	}
	wg.Wait()
	for c := range clients {
		b, err := os.ReadFile(filepath.Join(f.dir, fmt.Sprintf("c%d.txt", c)))
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprint(c), string(b))
	}

	// Batches: a JSON array, and NDJSON in and out.
	var items []map[string]any
	require.Equal(t, 200, f.call(t, "POST", "/v1/nodes/core/batch", "", "",
		[]byte(`[{"computation_type":"sum_numbers","data":[1,2]},{"computation_type":"nope","data":1}]`), &items))
	require.Len(t, items, 2)
	assert.Equal(t, 3.0, items[0]["result"])
	assert.Equal(t, "unknown_computation", items[1]["error"].(map[string]any)["code"])
	req, _ := http.NewRequest("POST", f.url+"/v1/nodes/core/batch", strings.NewReader("{\"computation_type\":\"sum_numbers\",\"data\":[5]}\n\n{\"computation_type\":\"string_uppercase\",\"data\":\"x\"}\n"))
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	require.Len(t, lines, 2, "%s", body)
	assert.Contains(t, lines[1], `"result":"X"`)

	// Metrics agree with the calls made.
	resp, err = http.Get(f.url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	counts := map[string]float64{}
	for _, m := range families["onex_calls_total"].GetMetric() {
		key := ""
		for _, l := range m.GetLabel() {
			key += l.GetName() + "=" + l.GetValue() + " "
		}
		counts[strings.TrimSpace(key)] = m.GetCounter().GetValue()
	}
	assert.Equal(t, float64(clients*calls+2), counts["kind=compute node=core operation=sum_numbers outcome=ok"])
	assert.Equal(t, float64(clients), counts["kind=effect node=fileops operation=write outcome=ok"])
	assert.Equal(t, float64(1), counts["kind=compute node=core operation=nope outcome=unknown_computation"])
	tx := families["onex_transactions_total"].GetMetric()
	require.NotEmpty(t, tx)
	for _, m := range tx {
		if m.GetLabel()[0].GetValue() == "committed" {
			assert.Equal(t, float64(clients), m.GetCounter().GetValue())
		}
	}
	assert.NotNil(t, families["onex_call_duration_seconds"])
	assert.NotNil(t, families["onex_pool_instances"])
}

func TestServer_Auth(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]server.Role{invokeToken: server.RoleInvoke, adminToken: server.RoleAdmin})
	assert.Equal(t, 200, f.call(t, "GET", "/healthz", "", "", nil, nil))
	assert.Equal(t, 200, f.call(t, "GET", "/readyz", "", "", nil, nil))
	var e struct{ Error struct{ Code string } }
	assert.Equal(t, 401, f.call(t, "GET", "/v1/nodes", "", "", nil, &e))
	assert.Equal(t, "unauthorized", e.Error.Code)
	assert.Equal(t, 401, f.call(t, "GET", "/v1/nodes", "wrong", "", nil, nil))
	var nodes []map[string]any
	assert.Equal(t, 200, f.call(t, "GET", "/v1/nodes", invokeToken, "", nil, &nodes))
	assert.Len(t, nodes, 3)
	assert.Equal(t, 403, f.call(t, "DELETE", "/v1/cache", invokeToken, "", nil, &e))
	assert.Equal(t, "forbidden", e.Error.Code)
	assert.Equal(t, 200, f.call(t, "DELETE", "/v1/cache", adminToken, "", nil, nil))
	assert.Equal(t, 403, f.call(t, "POST", "/v1/nodes/versioned/reload", invokeToken, "", nil, nil))
	assert.Equal(t, 200, f.call(t, "POST", "/v1/nodes/core/compute", adminToken, "", []byte(`{"computation_type":"sum_numbers","data":[1]}`), nil))
}

func TestServer_Errors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	var e struct {
		Error       struct{ Code, Message string }
		OperationID string `json:"operation_id"`
	}
	assert.Equal(t, 404, f.call(t, "POST", "/v1/nodes/nope/compute", "", "", []byte(`{}`), &e))
	assert.Equal(t, "not_found", e.Error.Code)
	assert.Equal(t, 400, f.call(t, "POST", "/v1/nodes/core/compute", "", "", []byte(`{`), &e))
	assert.Equal(t, "invalid_input", e.Error.Code)
	assert.Equal(t, 400, f.call(t, "POST", "/v1/nodes/core/compute", "", "", []byte(`{"computation_type":"sum_numbers","data":"x"}`), &e))
	assert.Equal(t, "invalid_input", e.Error.Code)
	assert.NotEmpty(t, e.OperationID)
	assert.Equal(t, 400, f.call(t, "POST", "/v1/nodes/fileops/compute", "", "", []byte(`{}`), &e))
	assert.Equal(t, 413, f.call(t, "POST", "/v1/nodes/core/compute", "", "", bytes.Repeat([]byte(" "), server.DefaultMaxRequestBytes+1), &e))
	assert.Equal(t, "request_too_large", e.Error.Code)

	// A failed effect answers with its output: the rollback is visible.
	data, _ := json.Marshal(map[string]any{"operations": []map[string]string{
		{"op": "write", "path": filepath.Join(f.dir, "x"), "content": "x"},
		{"op": "move", "from": filepath.Join(f.dir, "none"), "to": filepath.Join(f.dir, "y")},
	}})
	in, _ := json.Marshal(abi.EffectInput{EffectType: "apply", OperationData: data})
	var out struct {
		abi.EffectOutput
		Error struct{ Code string }
	}
	assert.Equal(t, 422, f.call(t, "POST", "/v1/nodes/fileops/effect", "", "", in, &out))
	assert.Equal(t, "not_found", out.Error.Code)
	assert.Equal(t, abi.TransactionRolledBack, out.TransactionState)
	assert.NoFileExists(t, filepath.Join(f.dir, "x"))
}

func TestServer_HotReloadUnderLoad(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	var stop atomic.Bool
	var failures, ones, twos atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				var out abi.ComputeOutput
				if f.call(t, "POST", "/v1/nodes/versioned/compute", "", "", []byte(`{"computation_type":"default","cache_enabled":false}`), &out) != 200 {
					failures.Add(1)
					continue
				}
				switch string(out.Result) {
				case "1":
					ones.Add(1)
				case "2":
					twos.Add(1)
				default:
					failures.Add(1)
				}
			}
		})
	}
	// Each wait ends when the counted answers arrive or when any request fails: a broken
	// request path fails the test at once instead of spinning until the package timeout.
	waitFor := func(done func() bool) {
		for !done() && failures.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		if failures.Load() > 0 {
			stop.Store(true)
			wg.Wait()
			t.Fatalf("%d requests failed while waiting", failures.Load())
		}
	}
	waitFor(func() bool { return ones.Load() >= 20 })
	copyFile(t, filepath.Join(plugintest.Root(), "plugins/testdata/wat/versioned2.wasm"), f.version)
	var res map[string]string
	require.Equal(t, 200, f.call(t, "POST", "/v1/nodes/versioned/reload", "", "", nil, &res))
	assert.True(t, strings.HasPrefix(res["digest"], "sha256:"))
	seen := twos.Load()
	waitFor(func() bool { return twos.Load() >= seen+20 })
	stop.Store(true)
	wg.Wait()
	assert.Zero(t, failures.Load(), "no request failed during the reload")
	onesAtEnd := ones.Load()
	var out abi.ComputeOutput
	require.Equal(t, 200, f.call(t, "POST", "/v1/nodes/versioned/compute", "", "", []byte(`{"computation_type":"default"}`), &out))
	assert.Equal(t, "2", string(out.Result))
	assert.Equal(t, onesAtEnd, ones.Load(), "after the reload every request sees version 2")

	// A version that fails to load leaves the current one serving.
	require.NoError(t, os.WriteFile(f.version, []byte("not wasm"), 0o644))
	var e struct{ Error struct{ Code string } }
	assert.Equal(t, 422, f.call(t, "POST", "/v1/nodes/versioned/reload", "", "", nil, &e))
	require.Equal(t, 200, f.call(t, "POST", "/v1/nodes/versioned/compute", "", "", []byte(`{"computation_type":"default"}`), &out))
	assert.Equal(t, "2", string(out.Result))
}

func TestServer_EventStreamAndBreakers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	req, _ := http.NewRequest("GET", f.url+"/v1/events?topic=onex.evt.test.>", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	buf := make([]byte, 256)
	n, err := resp.Body.Read(buf) // the subscription comment
	require.NoError(t, err)
	assert.Contains(t, string(buf[:n]), "subscribed to onex.evt.test.>")
	// An event on the bus, as an effect's commit publishes it, reaches the stream.
	require.NoError(t, f.host.Events().Publish(context.Background(),
		abi.Event{EventType: "test.ping", Topic: "onex.evt.test.ping.v1", EnvelopeID: "env-1"}))
	var got strings.Builder
	for !strings.Contains(got.String(), "\n\n") {
		n, err := resp.Body.Read(buf)
		require.NoError(t, err)
		got.Write(buf[:n])
	}
	assert.Contains(t, got.String(), "event: test.ping\nid: env-1\ndata: {")
	cancel()

	var breakers []map[string]any
	assert.Equal(t, 200, f.call(t, "POST", "/v1/breakers/force-open?service=kv", "", "", nil, &breakers))
	require.Len(t, breakers, 1)
	assert.Equal(t, "open", breakers[0]["state"])
	assert.Equal(t, 200, f.call(t, "POST", "/v1/breakers/reset?service=kv", "", "", nil, &breakers))
	assert.Equal(t, "closed", breakers[0]["state"])
	assert.Equal(t, 404, f.call(t, "POST", "/v1/breakers/explode?service=kv", "", "", nil, nil))
	assert.Equal(t, 400, f.call(t, "POST", "/v1/breakers/reset", "", "", nil, nil))
}

// countingRouter answers every routed compute with 200 and records the most goroutines
// the process had while it was answering.
type countingRouter struct {
	mu    sync.Mutex // guards most and calls
	most  int
	calls int
}

func (r *countingRouter) Route(_ context.Context, _, _ string, _ []byte) (server.Response, error) {
	n := runtime.NumGoroutine()
	r.mu.Lock()
	r.most = max(r.most, n)
	r.calls++
	r.mu.Unlock()
	return server.Response{Status: 200, Body: []byte(`{"result":1}`)}, nil
}

// TestServer_RoutedBatchBoundsGoroutines: a batch for a node of another host is routed
// item by item by a bounded number of goroutines, however long it is. It counts the
// process's goroutines, so it is not parallel: it runs before the parallel tests start.
// 20,000 items, 1,250 times the bound, cost ~2 s under -race (100,000 cost ~10 s).
func TestServer_RoutedBatchBoundsGoroutines(t *testing.T) {
	h, err := host.New(context.Background(), host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir("").
		WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close(context.Background())) })
	router := &countingRouter{}
	srv := server.New(h, server.Options{Router: router, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, srv.Load(context.Background(), nil))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	const items = 20_000
	before := runtime.NumGoroutine()
	body := "[" + strings.Repeat(`{"computation_type":"default","data":1},`, items-1) + `{"computation_type":"default","data":1}]`
	resp, err := http.Post(ts.URL+"/v1/nodes/remote/batch", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	var out []map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	assert.Len(t, out, items)
	assert.Equal(t, items, router.calls)
	assert.Less(t, router.most, before+200, "goroutines while routing (%d before the request)", before)
}
