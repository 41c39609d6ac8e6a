package events_test

import (
	"context"
	"testing"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/events"
)

// benchBus returns a bus with four subscribers, one of which matches topic. The
// matching one uses Drop, so the benchmark measures Publish, not the handler.
func benchBus(b *testing.B) *events.Bus {
	b.Helper()
	bus := events.New(nil)
	nop := func(context.Context, abi.Event) error { return nil }
	for _, p := range []string{"onex.evt.users.>", "onex.evt.*.shipped.v1", "onex.evt.orders.placed.v2", "onex.evt.orders.>"} {
		subscribe(b, bus, p, nop, events.SubscribeOptions{})
	}
	b.Cleanup(func() { closeBus(b, bus) })
	return bus
}

func BenchmarkBus_Publish(b *testing.B) {
	bus := benchBus(b)
	ctx := context.Background()
	e := event("k")
	b.ReportAllocs()
	for b.Loop() {
		if err := bus.Publish(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBus_Publish_Parallel(b *testing.B) {
	bus := benchBus(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		e := event("k")
		for pb.Next() {
			if err := bus.Publish(ctx, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkBus_Publish_WithID sets EnvelopeID and Timestamp, leaving only the bus's
// own cost (no UUID generation, no clock read).
func BenchmarkBus_Publish_WithID(b *testing.B) {
	bus := benchBus(b)
	ctx := context.Background()
	e := event("k")
	e.EnvelopeID = "0b7c4f7e-6f2a-4a8e-9d55-8f1f0b1f4c11"
	e.Timestamp = e.Timestamp.AddDate(2025, 0, 0)
	b.ReportAllocs()
	for b.Loop() {
		if err := bus.Publish(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}
