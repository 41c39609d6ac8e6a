package breaker

import (
	"context"
	"errors"
	"time"
)

// Defaults for zero Policy fields: ONEX's ModelCircuitBreaker defaults.
const (
	DefaultMinRequests          = 10
	DefaultFailureThreshold     = 5
	DefaultFailureRateThreshold = 0.5
	DefaultWindow               = 120 * time.Second
	DefaultOpenTimeout          = 60 * time.Second
	DefaultHalfOpenMaxRequests  = 3
	DefaultSuccessThreshold     = 3
)

// MaxProbes bounds Policy.HalfOpenMaxRequests and Policy.SuccessThreshold.
// failsafe-go keeps one bit per SuccessThreshold for each half-open period,
// and a breaker that needs more probes than this to trust a service is
// misconfigured.
const MaxProbes = 1 << 16

// minWindow is the shortest Policy.Window: failsafe-go splits the window into
// ten buckets and divides by the bucket length.
const minWindow = 10 * time.Nanosecond

// Policy sets how a Breaker judges a service. A zero field means its
// default, so the zero Policy is DefaultPolicy(). A Policy is a plain value,
// safe for concurrent use once built since nothing in this package modifies
// it; a Breaker keeps its own copy. IsFailure, if set, must itself be safe
// for concurrent use.
type Policy struct {
	// MinRequests is how many results the window must hold before either
	// threshold is judged (ONEX's minimum_request_threshold). Zero means
	// DefaultMinRequests; it must not be negative.
	MinRequests int
	// FailureThreshold is how many failures in the window open a closed
	// breaker, once MinRequests is reached. Zero means
	// DefaultFailureThreshold; it must not be negative.
	FailureThreshold int
	// FailureRateThreshold is the share of failures in the window, in
	// (0, 1], that opens a closed breaker once MinRequests is reached. Zero
	// means DefaultFailureRateThreshold. failsafe-go rounds the observed rate
	// to two decimals before comparing it.
	FailureRateThreshold float64
	// Window is the rolling period over which a closed breaker counts
	// results (ONEX's window_size_seconds). It is kept in ten buckets, so
	// results leave it a tenth of a Window at a time. Zero means
	// DefaultWindow; it must be at least 10ns.
	Window time.Duration
	// OpenTimeout is how long a breaker stays open before the next call
	// half-opens it (ONEX's timeout_seconds). Zero means DefaultOpenTimeout;
	// it must not be negative.
	OpenTimeout time.Duration
	// HalfOpenMaxRequests is how many calls a half-open breaker runs at
	// once; further calls are rejected until one of them finishes. Zero means
	// DefaultHalfOpenMaxRequests; it must not be negative or above MaxProbes.
	HalfOpenMaxRequests int
	// SuccessThreshold is how many successes close a half-open breaker. Zero
	// means DefaultSuccessThreshold; it must not be negative or above
	// MaxProbes.
	SuccessThreshold int
	// IsFailure reports whether a call's error counts as a failure. Nil
	// means DefaultIsFailure. A call whose error is not a failure counts as a
	// success, except that one whose error matches context.Canceled is not
	// recorded at all: the caller gave up, which says nothing about the
	// service. IsFailure is called without any lock held, once per call.
	IsFailure func(error) bool
	// Disabled turns the breaker off: it admits every call, records nothing,
	// stays closed and ignores ForceOpen, ForceClose and Reset.
	Disabled bool
}

// DefaultIsFailure is the default Policy.IsFailure: any non-nil error except
// one matching context.Canceled is a failure. context.DeadlineExceeded is a
// failure: a service too slow for its deadline is failing.
func DefaultIsFailure(err error) bool {
	return err != nil && !errors.Is(err, context.Canceled)
}

// DefaultPolicy returns the defaults with every field set (ONEX's: 10 minimum
// requests, 5 failures or a 0.5 failure rate over 120s, open for 60s, 3
// probes at once, 3 successes to close).
func DefaultPolicy() Policy {
	return Policy{}.withDefaults()
}

// FastFail returns ONEX's fast-fail preset: it opens sooner (5 minimum
// requests, 3 failures or a 0.3 failure rate over 60s), stays open for 30s
// and closes after 2 successes.
func FastFail() Policy {
	return Policy{
		MinRequests:          5,
		FailureThreshold:     3,
		FailureRateThreshold: 0.3,
		Window:               60 * time.Second,
		OpenTimeout:          30 * time.Second,
		HalfOpenMaxRequests:  DefaultHalfOpenMaxRequests,
		SuccessThreshold:     2,
		IsFailure:            DefaultIsFailure,
	}
}

// Resilient returns ONEX's resilient preset: it tolerates more (20 minimum
// requests, 10 failures or a 0.6 failure rate over 300s), stays open for
// 120s and closes after 5 successes.
func Resilient() Policy {
	return Policy{
		MinRequests:          20,
		FailureThreshold:     10,
		FailureRateThreshold: 0.6,
		Window:               300 * time.Second,
		OpenTimeout:          120 * time.Second,
		HalfOpenMaxRequests:  DefaultHalfOpenMaxRequests,
		SuccessThreshold:     5,
		IsFailure:            DefaultIsFailure,
	}
}

// Validate reports every field of p that is out of range, as *PolicyError
// values joined with errors.Join; each matches ErrInvalidPolicy. Zero fields
// are valid: they mean their defaults. It returns nil if p is valid.
func (p Policy) Validate() error {
	return p.validate("")
}

// validate is Validate with the Config.Overrides key to name in the errors.
func (p Policy) validate(service string) error {
	var errs []error
	bad := func(field string, value any, reason string) {
		errs = append(errs, &PolicyError{Service: service, Field: field, Value: value, Reason: reason})
	}
	if p.MinRequests < 0 {
		bad("MinRequests", p.MinRequests, "is negative")
	}
	if p.FailureThreshold < 0 {
		bad("FailureThreshold", p.FailureThreshold, "is negative")
	}
	// The negated comparison also rejects NaN.
	if !(p.FailureRateThreshold >= 0 && p.FailureRateThreshold <= 1) {
		bad("FailureRateThreshold", p.FailureRateThreshold, "is outside (0, 1]")
	}
	if p.Window != 0 && p.Window < minWindow {
		bad("Window", p.Window, "is below 10ns")
	}
	if p.OpenTimeout < 0 {
		bad("OpenTimeout", p.OpenTimeout, "is negative")
	}
	if p.HalfOpenMaxRequests < 0 || p.HalfOpenMaxRequests > MaxProbes {
		bad("HalfOpenMaxRequests", p.HalfOpenMaxRequests, "is outside [1, MaxProbes]")
	}
	if p.SuccessThreshold < 0 || p.SuccessThreshold > MaxProbes {
		bad("SuccessThreshold", p.SuccessThreshold, "is outside [1, MaxProbes]")
	}
	return errors.Join(errs...)
}

// withDefaults returns p with its zero fields set to their defaults.
func (p Policy) withDefaults() Policy {
	if p.MinRequests == 0 {
		p.MinRequests = DefaultMinRequests
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = DefaultFailureThreshold
	}
	if p.FailureRateThreshold == 0 {
		p.FailureRateThreshold = DefaultFailureRateThreshold
	}
	if p.Window == 0 {
		p.Window = DefaultWindow
	}
	if p.OpenTimeout == 0 {
		p.OpenTimeout = DefaultOpenTimeout
	}
	if p.HalfOpenMaxRequests == 0 {
		p.HalfOpenMaxRequests = DefaultHalfOpenMaxRequests
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = DefaultSuccessThreshold
	}
	if p.IsFailure == nil {
		p.IsFailure = DefaultIsFailure
	}
	return p
}
