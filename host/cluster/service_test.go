package cluster_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/server"
)

func TestService_ComputeAndErrorsThroughNATS(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	m := newMember(t, "a", func() (*nats.Conn, error) { return e.Connect("a") }, memberOptions{nodes: onlyCore})
	nc, err := e.Connect("client")
	require.NoError(t, err)
	defer nc.Close()
	c := patientClient(t, nc, 2)
	ctx := context.Background()

	out, err := c.Compute(ctx, "core", abi.ComputeInput{ComputationType: "sum_numbers", Data: []byte("[1,2,3]"), OperationID: "op-1"})
	require.NoError(t, err)
	assert.JSONEq(t, "6", string(out.Result))
	assert.Equal(t, "op-1", out.OperationID)

	// A host error keeps its code and status across the cluster.
	_, err = c.Compute(ctx, "core", abi.ComputeInput{ComputationType: "nope", Data: []byte("1")})
	var re *cluster.RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusNotFound, re.Status)
	assert.Equal(t, "unknown_computation", re.Code)
	assert.Equal(t, "a", re.Host)

	// No host serves the node: ErrNoResponders once the attempts are spent.
	_, err = c.Compute(ctx, "missing", abi.ComputeInput{Data: []byte("1")})
	require.ErrorIs(t, err, cluster.ErrNoResponders)

	// The server's Router: the HTTP API of a host without the node reaches the cluster.
	resp, err := c.Route(ctx, "core", server.OperationCompute, []byte(`{"computation_type":"string_uppercase","data":"abc"}`))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.Status)
	var routed abi.ComputeOutput
	require.NoError(t, json.Unmarshal(resp.Body, &routed))
	assert.JSONEq(t, `"ABC"`, string(routed.Result))

	stats := m.svc.Stats()
	require.NotEmpty(t, stats.Endpoints)
	var requests int
	for _, ep := range stats.Endpoints {
		requests += ep.NumRequests
	}
	assert.Equal(t, 3, requests)
}

func TestService_EffectRunsOncePerOperationID(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	m := newMember(t, "a", func() (*nats.Conn, error) { return e.Connect("a") }, memberOptions{nodes: onlyEffects})
	nc, err := e.Connect("client")
	require.NoError(t, err)
	defer nc.Close()
	c := patientClient(t, nc, 0)
	ctx := context.Background()
	in := abi.EffectInput{EffectType: "script", OperationID: "pay-42",
		OperationData: []byte(`{"steps":[{"op":"kv.put","key":"k","value":"v"}]}`)}

	first, err := c.Effect(ctx, "effects", in)
	require.NoError(t, err)
	assert.Equal(t, abi.TransactionCommitted, first.TransactionState)
	second, err := c.Effect(ctx, "effects", in)
	require.NoError(t, err)
	assert.Equal(t, first, second, "the repeat is answered with the first run's output")
	assert.Equal(t, uint64(1), m.host.TransactionStats().Committed, "committed once")

	// A run that fails leaves no record: the same id runs again.
	failing := abi.EffectInput{EffectType: "script", OperationID: "pay-43",
		OperationData: []byte(`{"steps":[{"op":"kv.put","key":"k","value":"v"}],"fail_after":1}`)}
	for range 2 {
		out, err := c.Effect(ctx, "effects", failing)
		var re *cluster.RemoteError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, abi.TransactionRolledBack, out.TransactionState)
	}
	assert.Equal(t, uint64(2), m.host.TransactionStats().RolledBack)
	assert.Equal(t, uint64(1), m.host.TransactionStats().Committed)
}

func TestService_ConcurrentRepeatsCommitOnce(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	a := newMember(t, "a", func() (*nats.Conn, error) { return e.Connect("a") }, memberOptions{nodes: onlyEffects})
	b := newMember(t, "b", func() (*nats.Conn, error) { return e.Connect("b") }, memberOptions{nodes: onlyEffects})
	nc, err := e.Connect("client")
	require.NoError(t, err)
	defer nc.Close()
	c := patientClient(t, nc, 0)
	in := abi.EffectInput{EffectType: "script", OperationID: "same",
		OperationData: []byte(`{"steps":[{"op":"kv.put","key":"k","value":"v"},{"op":"sleep","sleep_ms":100}]}`)}
	outs := make([]abi.EffectOutput, 8)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			var err error
			outs[i], err = c.Effect(context.Background(), "effects", in)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	for _, out := range outs[1:] {
		assert.Equal(t, outs[0], out)
	}
	assert.Equal(t, abi.TransactionCommitted, outs[0].TransactionState)
	assert.Equal(t, uint64(1), a.host.TransactionStats().Committed+b.host.TransactionStats().Committed)
}

func TestService_LeaseOfADeadHostExpires(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	a := newMember(t, "a", func() (*nats.Conn, error) { return e.Connect("a") }, memberOptions{lease: 2 * time.Second, nodes: onlyEffects})
	nc, err := e.Connect("client")
	require.NoError(t, err)
	defer nc.Close()
	// The first request's reply is lost with A: its caller gives up when A is killed.
	c := cluster.NewClient(nc, cluster.ClientConfig{AttemptTimeout: patience(t) / 4, Backoff: 50 * time.Millisecond})
	in := abi.EffectInput{EffectType: "script", OperationID: "orphan",
		OperationData: []byte(`{"steps":[{"op":"kv.put","key":"k","value":"v"},{"op":"sleep","sleep_ms":300}]}`)}
	// A starts the effect and dies in the middle: its record cannot be written, the
	// effect rolls back, its lease stays until it expires.
	first, abandon := context.WithCancel(context.Background())
	abandoned := make(chan struct{})
	go func() {
		defer close(abandoned)
		_, _ = c.Effect(first, "effects", in)
	}()
	eventually(t, func() bool { return a.host.TransactionStats().Open == 1 })
	a.kill(t)
	abandon()
	<-abandoned
	assert.Zero(t, a.host.TransactionStats().Committed)

	b := newMember(t, "b", func() (*nats.Conn, error) { return e.Connect("b") }, memberOptions{lease: 2 * time.Second, nodes: onlyEffects})
	start := time.Now()
	out, err := c.Effect(patientContext(t), "effects", in)
	require.NoError(t, err)
	assert.Equal(t, abi.TransactionCommitted, out.TransactionState)
	assert.Equal(t, uint64(1), b.host.TransactionStats().Committed)
	t.Logf("the repeat ran on b after %v (lease 2s)", time.Since(start))
}

func TestCollector_ReportsConnectionServiceAndCache(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	m := newMember(t, "a", func() (*nats.Conn, error) { return e.Connect("a") }, memberOptions{shared: true, nodes: onlyCore})
	col := cluster.NewCollector(m.nc, e)
	col.SetService(m.svc)
	col.SetSharedCache(m.host.Config().SharedCache.(*cluster.SharedCache))
	nc, err := e.Connect("client")
	require.NoError(t, err)
	defer nc.Close()
	c := patientClient(t, nc, 0)
	for range 3 {
		_, err := c.Compute(context.Background(), "core", abi.ComputeInput{ComputationType: "sum_numbers", Data: []byte("[2,2]")})
		require.NoError(t, err)
	}
	expected := `
# HELP onex_nats_connected 1 while the NATS connection is up.
# TYPE onex_nats_connected gauge
onex_nats_connected 1
# HELP onex_cluster_requests_total Requests this host served for the cluster.
# TYPE onex_cluster_requests_total counter
onex_cluster_requests_total{node="core",operation="compute"} 3
# HELP onex_shared_cache_total Shared cache level outcomes: hit, wait (a hit after waiting for another host), miss, store, error.
# TYPE onex_shared_cache_total counter
onex_shared_cache_total{result="error"} 0
onex_shared_cache_total{result="hit"} 0
onex_shared_cache_total{result="miss"} 1
onex_shared_cache_total{result="store"} 1
onex_shared_cache_total{result="wait"} 0
`
	require.NoError(t, testutil.CollectAndCompare(col, strings.NewReader(expected),
		"onex_nats_connected", "onex_cluster_requests_total", "onex_shared_cache_total"))
	// JetStream: the effect records and the cache bucket are streams.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)
	families, err := reg.Gather()
	require.NoError(t, err)
	var streams float64
	for _, f := range families {
		if f.GetName() == "onex_jetstream_streams" {
			streams = f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	assert.Equal(t, 2.0, streams)
}

func TestEffectRecords_SharedByHTTPAndNATS(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	a := newMember(t, "a", func() (*nats.Conn, error) { return e.Connect("a") }, memberOptions{nodes: onlyEffects})
	b := newMember(t, "b", func() (*nats.Conn, error) { return e.Connect("b") }, memberOptions{nodes: onlyEffects})
	ts := httptest.NewServer(a.srv.Handler())
	defer ts.Close()
	body := `{"effect_type":"script","operation_id":"http-1","operation_data":{"steps":[{"op":"kv.put","key":"k","value":"v"}]}}`
	post := func() (*http.Response, abi.EffectOutput) {
		resp, err := http.Post(ts.URL+"/v1/nodes/effects/effect", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		var out abi.EffectOutput
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp, out
	}
	first, out1 := post()
	require.Equal(t, http.StatusOK, first.StatusCode)
	assert.Empty(t, first.Header.Get(server.HeaderDeduplicated))
	second, out2 := post()
	require.Equal(t, http.StatusOK, second.StatusCode)
	assert.Equal(t, "true", second.Header.Get(server.HeaderDeduplicated))
	assert.Equal(t, out1, out2)

	// The same id through NATS, on whichever host: answered, not run.
	nc, err := e.Connect("client")
	require.NoError(t, err)
	defer nc.Close()
	var in abi.EffectInput
	require.NoError(t, json.Unmarshal([]byte(body), &in))
	out3, err := patientClient(t, nc, 0).Effect(context.Background(), "effects", in)
	require.NoError(t, err)
	assert.Equal(t, out1, out3)
	assert.Equal(t, uint64(1), a.host.TransactionStats().Committed+b.host.TransactionStats().Committed)
}

// A host without the node answers HTTP compute and batch requests through the cluster.
func TestRouter_HTTPComputeAndBatchForANodeElsewhere(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	newMember(t, "a", func() (*nats.Conn, error) { return e.Connect("a") }, memberOptions{nodes: onlyCore})
	nc, err := e.Connect("front")
	require.NoError(t, err)
	defer nc.Close()
	h, err := host.New(context.Background(), host.NewConfig().WithDataDir("").WithCacheDir("").WithLogger(quiet))
	require.NoError(t, err)
	defer h.Close(context.Background())
	front := server.New(h, server.Options{Logger: quiet, Router: patientClient(t, nc, 2)})
	require.NoError(t, front.Load(context.Background(), nil))
	ts := httptest.NewServer(front.Handler())
	defer ts.Close()

	resp, err := http.Post(ts.URL+"/v1/nodes/core/batch", "application/x-ndjson",
		strings.NewReader("{\"computation_type\":\"sum_numbers\",\"data\":[1,2]}\n{\"computation_type\":\"nope\",\"data\":1}\n{\"computation_type\":\"sum_numbers\",\"data\":[3]}\n"))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	type line struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	var lines []line
	for dec := json.NewDecoder(resp.Body); dec.More(); {
		var l line
		require.NoError(t, dec.Decode(&l))
		lines = append(lines, l)
	}
	require.Len(t, lines, 3, "one line per item, in order")
	assert.JSONEq(t, "3", string(lines[0].Result))
	require.NotNil(t, lines[1].Error)
	assert.Equal(t, "unknown_computation", lines[1].Error.Code)
	assert.JSONEq(t, "3", string(lines[2].Result))

	// A node no host serves: 404, as before.
	resp, err = http.Post(ts.URL+"/v1/nodes/missing/batch", "application/json", strings.NewReader(`[{"computation_type":"default","data":1}]`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}
