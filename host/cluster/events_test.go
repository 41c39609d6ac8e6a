package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/events"
)

func TestBridge_DurableTopicConsumerGroup(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	ctx := context.Background()
	bridges := make([]*cluster.Bridge, 2)
	buses := make([]*events.Bus, 2)
	for i := range bridges {
		nc, err := e.Connect("host")
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		buses[i] = events.New(quiet)
		t.Cleanup(func() { _ = buses[i].Close(ctx) })
		bridges[i], err = cluster.BridgeEvents(ctx, nc, buses[i], cluster.BridgeConfig{HostID: fmt.Sprint("h", i),
			DurableTopics: []string{"onex.evt.orders.>"}, Logger: quiet})
		require.NoError(t, err)
		t.Cleanup(bridges[i].Close)
	}
	const n = 20
	// Published before any member of the group runs: kept by the stream.
	for i := range n {
		require.NoError(t, buses[0].Publish(ctx, abi.Event{EventType: "order.placed", Topic: "onex.evt.orders.placed.v1",
			Key: fmt.Sprint(i), Payload: []byte(fmt.Sprint(i))}))
	}

	var mu sync.Mutex
	acked := map[string]int{} // key → successful deliveries
	deliveries := 0
	failedOnce := false
	handler := func() events.Handler {
		return func(_ context.Context, ev abi.Event) error {
			mu.Lock()
			defer mu.Unlock()
			deliveries++
			if ev.Key == "3" && !failedOnce {
				failedOnce = true
				return errors.New("transient") // nak: redelivered
			}
			acked[ev.Key]++
			return nil
		}
	}
	for _, b := range bridges {
		c, err := b.Consume(ctx, "onex.evt.orders.>", "billing", handler(),
			cluster.ConsumeConfig{NakDelay: 50 * time.Millisecond})
		require.NoError(t, err)
		t.Cleanup(c.Stop)
	}
	eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) == n
	})
	time.Sleep(200 * time.Millisecond) // nothing more arrives
	mu.Lock()
	defer mu.Unlock()
	for k, c := range acked {
		assert.Equal(t, 1, c, "event %s handled once", k)
	}
	assert.Equal(t, n+1, deliveries, "one failed delivery, redelivered")
	assert.True(t, failedOnce)
}

func TestBridge_EventsDoNotLoop(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	ctx := context.Background()
	var buses []*events.Bus
	for i := range 2 {
		nc, err := e.Connect("host")
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		bus := events.New(quiet)
		t.Cleanup(func() { _ = bus.Close(ctx) })
		b, err := cluster.BridgeEvents(ctx, nc, bus, cluster.BridgeConfig{HostID: fmt.Sprint("h", i), Logger: quiet})
		require.NoError(t, err)
		t.Cleanup(b.Close)
		buses = append(buses, bus)
	}
	got := make([]chan abi.Event, 2)
	for i, bus := range buses {
		got[i] = make(chan abi.Event, 16)
		_, err := bus.Subscribe("onex.evt.>", func(_ context.Context, ev abi.Event) error { got[i] <- ev; return nil },
			events.SubscribeOptions{Policy: events.Block})
		require.NoError(t, err)
	}
	require.NoError(t, buses[0].Publish(ctx, abi.Event{EnvelopeID: "once", EventType: "x", Topic: "onex.evt.test.once.v1"}))
	for i := range 2 {
		ev := receive(t, got[i], fmt.Sprintf("the event on bus %d", i))
		assert.Equal(t, "once", ev.EnvelopeID)
	}
	time.Sleep(200 * time.Millisecond)
	assert.Empty(t, got[0], "the event did not come back to its origin")
	assert.Empty(t, got[1], "nor reach the other host twice")
	assert.Equal(t, uint64(1), buses[1].Published())
}
