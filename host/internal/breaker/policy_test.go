package breaker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPolicy_Validate(t *testing.T) {
	tests := []struct {
		name       string
		policy     Policy
		wantFields []string
	}{
		{name: "zero policy means the defaults", policy: Policy{}},
		{name: "defaults", policy: DefaultPolicy()},
		{name: "fast-fail", policy: FastFail()},
		{name: "resilient", policy: Resilient()},
		{name: "limits", policy: Policy{FailureRateThreshold: 1, Window: 10 * time.Nanosecond, HalfOpenMaxRequests: MaxProbes, SuccessThreshold: MaxProbes}},
		{name: "negative MinRequests", policy: Policy{MinRequests: -1}, wantFields: []string{"MinRequests"}},
		{name: "negative FailureThreshold", policy: Policy{FailureThreshold: -1}, wantFields: []string{"FailureThreshold"}},
		{name: "rate above 1", policy: Policy{FailureRateThreshold: 1.5}, wantFields: []string{"FailureRateThreshold"}},
		{name: "negative rate", policy: Policy{FailureRateThreshold: -0.1}, wantFields: []string{"FailureRateThreshold"}},
		{name: "NaN rate", policy: Policy{FailureRateThreshold: math.NaN()}, wantFields: []string{"FailureRateThreshold"}},
		{name: "window too short", policy: Policy{Window: 9 * time.Nanosecond}, wantFields: []string{"Window"}},
		{name: "negative window", policy: Policy{Window: -time.Second}, wantFields: []string{"Window"}},
		{name: "negative OpenTimeout", policy: Policy{OpenTimeout: -time.Second}, wantFields: []string{"OpenTimeout"}},
		{name: "negative HalfOpenMaxRequests", policy: Policy{HalfOpenMaxRequests: -1}, wantFields: []string{"HalfOpenMaxRequests"}},
		{name: "too many probes", policy: Policy{HalfOpenMaxRequests: MaxProbes + 1}, wantFields: []string{"HalfOpenMaxRequests"}},
		{name: "SuccessThreshold too large", policy: Policy{SuccessThreshold: MaxProbes + 1}, wantFields: []string{"SuccessThreshold"}},
		{
			name:       "every bad field is reported",
			policy:     Policy{MinRequests: -1, FailureRateThreshold: 2, SuccessThreshold: -3},
			wantFields: []string{"MinRequests", "FailureRateThreshold", "SuccessThreshold"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			if tt.wantFields == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidPolicy)
			assert.Equal(t, tt.wantFields, policyErrorFields(err))
		})
	}
}

// policyErrorFields returns the Field of every *PolicyError joined in err.
func policyErrorFields(err error) []string {
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var pe *PolicyError
		if errors.As(e, &pe) {
			fields = append(fields, pe.Field)
		}
	}
	return fields
}

func TestPolicyError_Error(t *testing.T) {
	err := &PolicyError{Field: "FailureRateThreshold", Value: 1.5, Reason: "is outside (0, 1]"}
	assert.Equal(t, "breaker: invalid policy: FailureRateThreshold 1.5 is outside (0, 1]", err.Error())
	err.Service = "http:*"
	assert.Equal(t, `breaker: invalid policy for "http:*": FailureRateThreshold 1.5 is outside (0, 1]`, err.Error())
}

func TestDefaultPolicy(t *testing.T) {
	p := DefaultPolicy()
	require.NotNil(t, p.IsFailure)
	p.IsFailure = nil
	assert.Equal(t, Policy{
		MinRequests:          10,
		FailureThreshold:     5,
		FailureRateThreshold: 0.5,
		Window:               120 * time.Second,
		OpenTimeout:          60 * time.Second,
		HalfOpenMaxRequests:  3,
		SuccessThreshold:     3,
	}, p)
}

// TestPolicy_Presets checks the presets' values and that they behave
// differently: fast-fail opens on 5 failures, resilient does not.
func TestPolicy_Presets(t *testing.T) {
	tests := []struct {
		name     string
		policy   Policy
		want     [4]any // FailureThreshold, SuccessThreshold, OpenTimeout, MinRequests
		opensOn5 bool
	}{
		{name: "fast-fail", policy: FastFail(), want: [4]any{3, 2, 30 * time.Second, 5}, opensOn5: true},
		{name: "resilient", policy: Resilient(), want: [4]any{10, 5, 120 * time.Second, 20}, opensOn5: false},
		{name: "default", policy: DefaultPolicy(), want: [4]any{5, 3, 60 * time.Second, 10}, opensOn5: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.policy
			assert.Equal(t, tt.want, [4]any{p.FailureThreshold, p.SuccessThreshold, p.OpenTimeout, p.MinRequests})
			require.NoError(t, p.Validate())
			require.NotNil(t, p.IsFailure)
			assert.Equal(t, withoutFunc(p), withoutFunc(withoutFunc(p).withDefaults()), "a preset sets every field")

			r, _ := newTestRegistry(t, p)
			b := r.Get("svc")
			run(t, b, "FFFFF")
			assert.Equal(t, tt.opensOn5, b.State() == StateOpen)
		})
	}
	assert.Less(t, FastFail().FailureRateThreshold, DefaultPolicy().FailureRateThreshold)
	assert.Greater(t, Resilient().FailureRateThreshold, DefaultPolicy().FailureRateThreshold)
}

// withoutFunc returns p without IsFailure: functions never compare equal.
func withoutFunc(p Policy) Policy {
	p.IsFailure = nil
	return p
}

func TestDefaultIsFailure(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "nil", err: nil, want: false},
		{name: "error", err: errBoom, want: true},
		{name: "canceled", err: context.Canceled, want: false},
		{name: "wrapped canceled", err: fmt.Errorf("call: %w", context.Canceled), want: false},
		{name: "deadline exceeded", err: context.DeadlineExceeded, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, DefaultIsFailure(tt.err))
		})
	}
}
