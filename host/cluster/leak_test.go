package cluster_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/cluster"
)

// The embedded default, everything started and stopped: no goroutine outlives it.
func TestEmbedded_StopsWithoutLeaks(t *testing.T) {
	// Registered first, so it runs after every other cleanup.
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	e := embedded(t)
	m := newMember(t, "a", func() (*nats.Conn, error) { return e.Connect("a") }, memberOptions{shared: true})
	nc, err := e.Connect("client")
	require.NoError(t, err)
	defer nc.Close()
	c := cluster.NewClient(nc, cluster.ClientConfig{})
	_, err = c.Compute(context.Background(), "core", abi.ComputeInput{ComputationType: "sum_numbers", Data: []byte("[1]")})
	require.NoError(t, err)
	_, err = c.Effect(context.Background(), "effects", abi.EffectInput{EffectType: "script", OperationData: []byte(`{"steps":[]}`)})
	require.NoError(t, err)
	_ = m
}

// Reducers started, used from two hosts and closed: no goroutine outlives them.
func TestReducerStopsWithoutLeaks(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	e := embedded(t)
	a, b := newReducerHost(t, e, "a", 0), newReducerHost(t, e, "b", 0)
	ctx := patientContext(t)
	_, err := a.r.Apply(ctx, "counter", "k", counterEvent("1", 1))
	require.NoError(t, err)
	res, err := b.r.Apply(ctx, "counter", "k", counterEvent("2", 2))
	require.NoError(t, err)
	require.Equal(t, uint64(2), res.Sequence)
}
