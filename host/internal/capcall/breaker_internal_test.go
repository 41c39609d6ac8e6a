package capcall

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/internal/breaker"
)

// TestAttempt_GuardHalfOpenProbe checks what a half-open probe leaves behind when it does
// not end with an answer from the service: a canceled probe is counted as canceled (it
// neither closes nor reopens the breaker, and frees its slot), and a panicking probe is a
// failure that frees its slot.
func TestAttempt_GuardHalfOpenProbe(t *testing.T) {
	errUnavailable := errors.New("service unavailable")
	isFailure := func(err error) bool { return errors.Is(err, errUnavailable) }
	tests := []struct {
		name string
		// probe runs as the only half-open probe; cancel cancels its context first.
		probe  func() error
		cancel bool
		// wantState is the breaker's state after the probe.
		wantState breaker.State
		// wantCounts are Successes, Failures, Late, Canceled after it.
		wantCounts [4]uint64
	}{
		{
			name:      "canceled, the error not a failure",
			probe:     func() error { return context.Canceled },
			cancel:    true,
			wantState: breaker.StateHalfOpen, wantCounts: [4]uint64{0, 0, 0, 1},
		},
		{
			name:      "canceled, the error a failure",
			probe:     func() error { return errUnavailable },
			cancel:    true,
			wantState: breaker.StateHalfOpen, wantCounts: [4]uint64{0, 0, 0, 1},
		},
		{
			name:      "panics",
			probe:     func() error { panic("boom") },
			wantState: breaker.StateOpen, wantCounts: [4]uint64{0, 1, 0, 0},
		},
		{
			name:      "answers",
			probe:     func() error { return nil },
			wantState: breaker.StateClosed, wantCounts: [4]uint64{1, 0, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const openTimeout = time.Minute
				reg, err := breaker.NewRegistry(breaker.Config{Policy: breaker.Policy{
					MinRequests: 1, FailureThreshold: 1, OpenTimeout: openTimeout,
					HalfOpenMaxRequests: 1, SuccessThreshold: 1,
				}})
				require.NoError(t, err)
				a := &Attempt{Plugin: &Plugin{Breakers: reg}, Breakers: true}
				reg.ForceOpen("svc")
				time.Sleep(openTimeout) // the next call is the half-open probe

				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tt.cancel {
					cancel()
				}
				func() {
					defer func() { _ = recover() }()
					_ = a.guard(ctx, "svc", tt.probe, isFailure)
				}()
				s := reg.Get("svc").Stats()
				assert.Equal(t, tt.wantState, s.State)
				assert.Equal(t, tt.wantCounts, [4]uint64{s.Successes, s.Failures, s.Late, s.Canceled})

				// The probe's slot is free: after the open timeout if it reopened, at once
				// otherwise, the next call runs.
				time.Sleep(openTimeout)
				ran := false
				err = a.guard(t.Context(), "svc", func() error { ran = true; return nil }, isFailure)
				require.NoError(t, err)
				assert.True(t, ran)
			})
		})
	}
}
