package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/onexhost/onex-host/host/internal/breaker"
)

// Example protects calls to one service: three failures open its breaker,
// after which calls fail fast without running.
func Example() {
	reg, err := breaker.NewRegistry(breaker.Config{
		Policy: breaker.Policy{MinRequests: 3, FailureThreshold: 3, OpenTimeout: 30 * time.Second},
		Overrides: map[string]breaker.Policy{
			"fs:*": breaker.Resilient(),
		},
	})
	if err != nil {
		panic(err)
	}
	reg.OnStateChange(func(service string, from, to breaker.State) {
		fmt.Printf("%s: %v -> %v\n", service, from, to)
	})

	api := reg.Get("http:api.example.com")
	unreachable := errors.New("connection refused")
	for i := range 4 {
		err := api.Do(context.Background(), func(context.Context) error {
			return unreachable
		})
		var open *breaker.OpenError
		switch {
		case errors.As(err, &open):
			fmt.Printf("call %d: rejected, %v, retry after %v\n", i, open.State, open.RetryAfter.Round(time.Second))
		case err != nil:
			fmt.Printf("call %d: %v\n", i, err)
		}
	}

	for _, s := range reg.Snapshot() {
		fmt.Printf("%s: %v, %d failures, %d rejected\n", s.Service, s.State, s.Failures, s.Rejected)
	}
	// Output:
	// call 0: connection refused
	// call 1: connection refused
	// http:api.example.com: closed -> open
	// call 2: connection refused
	// call 3: rejected, open, retry after 30s
	// http:api.example.com: open, 3 failures, 1 rejected
}

// ExampleBreaker_Allow records the result of a call that does not fit in a
// function, such as one split across callbacks.
func ExampleBreaker_Allow() {
	reg, err := breaker.NewRegistry(breaker.Config{})
	if err != nil {
		panic(err)
	}
	kv := reg.Get("kv")

	permit, err := kv.Allow()
	if errors.Is(err, breaker.ErrOpen) {
		fmt.Println("kv is unavailable")
		return
	}
	// ... run the call ...
	permit.Done(nil)

	fmt.Println(kv.Stats().Successes, "success")
	// Output:
	// 1 success
}
