package abi_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/onexhost/onex-host/abi"
)

func TestStatus_String(t *testing.T) {
	tests := []struct {
		name   string
		status abi.Status
		want   string
	}{
		{name: "ok", status: abi.StatusOK, want: "ok"},
		{name: "error", status: abi.StatusError, want: "error"},
		{name: "unknown computation", status: abi.StatusUnknownComputation, want: "unknown_computation"},
		{name: "invalid input", status: abi.StatusInvalidInput, want: "invalid_input"},
		{name: "panic", status: abi.StatusPanic, want: "panic"},
		{name: "out of bounds", status: abi.StatusOutOfBounds, want: "out_of_bounds"},
		{name: "denied", status: abi.StatusDenied, want: "denied"},
		{name: "not found", status: abi.StatusNotFound, want: "not_found"},
		{name: "too large", status: abi.StatusTooLarge, want: "too_large"},
		{name: "unavailable", status: abi.StatusUnavailable, want: "unavailable"},
		{name: "timeout", status: abi.StatusTimeout, want: "timeout"},
		{name: "unsupported", status: abi.StatusUnsupported, want: "unsupported"},
		{name: "internal", status: abi.StatusInternal, want: "internal"},
		{name: "first undefined", status: 13, want: "status_13"},
		{name: "reserved range", status: 1023, want: "status_1023"},
		{name: "negative", status: -1, want: "status_-1"},
		{name: "max int32", status: math.MaxInt32, want: "status_2147483647"},
		{name: "min int32", status: math.MinInt32, want: "status_-2147483648"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.status.String())
		})
	}
}

func TestStatus_Known(t *testing.T) {
	for _, s := range []abi.Status{abi.StatusOK, abi.StatusError, abi.StatusInternal} {
		assert.True(t, s.Known(), "%d", s)
	}
	for _, s := range []abi.Status{-1, 13, 99, 1 << 30} {
		assert.False(t, s.Known(), "%d: SPEC.md section 3 treats it as internal", s)
	}
}

func TestStatus_values(t *testing.T) {
	// The numbers are part of the wire contract (SPEC.md section 3) and must never change.
	tests := []struct {
		name   string
		status abi.Status
		want   int32
	}{
		{name: "ok", status: abi.StatusOK, want: 0},
		{name: "error", status: abi.StatusError, want: 1},
		{name: "unknown computation", status: abi.StatusUnknownComputation, want: 2},
		{name: "invalid input", status: abi.StatusInvalidInput, want: 3},
		{name: "panic", status: abi.StatusPanic, want: 4},
		{name: "out of bounds", status: abi.StatusOutOfBounds, want: 5},
		{name: "denied", status: abi.StatusDenied, want: 6},
		{name: "not found", status: abi.StatusNotFound, want: 7},
		{name: "too large", status: abi.StatusTooLarge, want: 8},
		{name: "unavailable", status: abi.StatusUnavailable, want: 9},
		{name: "timeout", status: abi.StatusTimeout, want: 10},
		{name: "unsupported", status: abi.StatusUnsupported, want: 11},
		{name: "internal", status: abi.StatusInternal, want: 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, int32(tt.status))
		})
	}
}

func TestStatus_Retryable(t *testing.T) {
	tests := []struct {
		name   string
		status abi.Status
		want   bool
	}{
		{name: "ok", status: abi.StatusOK, want: false},
		{name: "error", status: abi.StatusError, want: false},
		{name: "unknown computation", status: abi.StatusUnknownComputation, want: false},
		{name: "invalid input", status: abi.StatusInvalidInput, want: false},
		{name: "panic", status: abi.StatusPanic, want: false},
		{name: "out of bounds", status: abi.StatusOutOfBounds, want: false},
		{name: "denied", status: abi.StatusDenied, want: false},
		{name: "not found", status: abi.StatusNotFound, want: false},
		{name: "too large", status: abi.StatusTooLarge, want: false},
		{name: "unavailable", status: abi.StatusUnavailable, want: true},
		{name: "timeout", status: abi.StatusTimeout, want: true},
		{name: "unsupported", status: abi.StatusUnsupported, want: false},
		{name: "internal", status: abi.StatusInternal, want: false},
		{name: "unknown is like internal", status: 13, want: false},
		{name: "negative", status: -10, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.status.Retryable())
		})
	}
}
