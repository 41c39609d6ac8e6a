package events_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/events"
)

func Example() {
	bus := events.New(nil)

	sub, err := bus.Subscribe("onex.evt.orders.>", func(_ context.Context, e abi.Event) error {
		fmt.Printf("%s %s %s\n", e.Topic, e.Key, e.Payload)
		return nil
	}, events.SubscribeOptions{Name: "audit"})
	if err != nil {
		fmt.Println(err)
		return
	}

	ctx := context.Background()
	for _, id := range []string{"A-1", "A-2"} {
		err := bus.Publish(ctx, abi.Event{
			Topic:     "onex.evt.orders.placed.v1",
			EventType: "order.placed",
			Key:       id,
			Payload:   json.RawMessage(`{"total":42}`),
		})
		if err != nil {
			fmt.Println(err)
		}
	}
	// Not matched by the subscription's pattern.
	_ = bus.Publish(ctx, abi.Event{Topic: "onex.evt.users.created.v1", EventType: "user.created"})

	// Close lets the subscriber drain its queue first.
	if err := bus.Close(ctx); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%+v\n", sub.Stats())
	// Output:
	// onex.evt.orders.placed.v1 A-1 {"total":42}
	// onex.evt.orders.placed.v1 A-2 {"total":42}
	// {Delivered:2 Failed:0 Dropped:0 Pending:0}
}
