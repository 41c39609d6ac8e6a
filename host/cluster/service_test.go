package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/server"
)

func TestService_ComputeAndErrorsThroughNATS(t *testing.T) {
	e := embedded(t)
	m := newMember(t, "a", func() (*nats.Conn, error) { return e.Connect("a") }, memberOptions{})
	nc, err := e.Connect("client")
	require.NoError(t, err)
	defer nc.Close()
	c := cluster.NewClient(nc, cluster.ClientConfig{AttemptTimeout: 5 * time.Second, Attempts: 2})
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
	e := embedded(t)
	m := newMember(t, "a", func() (*nats.Conn, error) { return e.Connect("a") }, memberOptions{})
	nc, err := e.Connect("client")
	require.NoError(t, err)
	defer nc.Close()
	c := cluster.NewClient(nc, cluster.ClientConfig{AttemptTimeout: 5 * time.Second})
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
	_ = errors.New
}
