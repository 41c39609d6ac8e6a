package effect

import (
	"cmp"
	"math/rand/v2"
	"time"

	"github.com/onexhost/onex-host/abi"
)

// Retry defaults: ONEX's effect defaults (max_retries 3, retry_delay_ms 1000, doubling,
// ±10 % jitter), with a cap on the delay.
const (
	DefaultMaxRetries = 3
	DefaultRetryDelay = time.Second
	DefaultMaxDelay   = 30 * time.Second
	DefaultJitter     = 0.1
)

// RetryPolicy is how a Node retries a failed attempt. Only retryable failures are
// retried: a guest error marked retryable, a timeout of the attempt (not of the whole
// effect), a transient host failure; a call rejected by an open circuit breaker only with
// RetryBreakerOpen. Each retry runs in a fresh transaction, after the previous attempt's
// was rolled back. A zero field means its default; RetryPolicy is a plain value.
type RetryPolicy struct {
	// MaxRetries is how many times a failed effect is tried again. Default
	// DefaultMaxRetries; negative means never.
	MaxRetries int
	// BaseDelay is the wait before the first retry; each further one doubles it. Default
	// DefaultRetryDelay.
	BaseDelay time.Duration
	// MaxDelay caps the wait. Default DefaultMaxDelay.
	MaxDelay time.Duration
	// Jitter spreads each wait uniformly within ±Jitter of it (0.1: ±10 %). Default
	// DefaultJitter; negative means none.
	Jitter float64
	// RetryBreakerOpen retries attempts that failed because a service's circuit breaker
	// was open (the wait may outlast the breaker's open timeout). Default false: an open
	// breaker fails the effect fast.
	RetryBreakerOpen bool
}

// withDefaults fills zero fields and applies an input's overrides.
func (r RetryPolicy) withDefaults(in *abi.EffectInput) RetryPolicy {
	r.MaxRetries = cmp.Or(r.MaxRetries, DefaultMaxRetries)
	r.BaseDelay = cmp.Or(r.BaseDelay, DefaultRetryDelay)
	r.MaxDelay = cmp.Or(r.MaxDelay, DefaultMaxDelay)
	r.Jitter = cmp.Or(r.Jitter, DefaultJitter)
	if in.MaxRetries != nil {
		r.MaxRetries = *in.MaxRetries
	}
	if in.RetryDelayMS != nil {
		r.BaseDelay = time.Duration(*in.RetryDelayMS) * time.Millisecond
	}
	if in.NoRetry || r.MaxRetries < 0 {
		r.MaxRetries = 0
	}
	r.Jitter = max(r.Jitter, 0)
	return r
}

// delay is the wait before retry n (1 for the first): BaseDelay·2^(n-1), capped at
// MaxDelay, then spread by Jitter.
func (r RetryPolicy) delay(n int) time.Duration {
	d := r.BaseDelay
	for i := 1; i < n && d < r.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, r.MaxDelay)
	if r.Jitter > 0 {
		d = time.Duration(float64(d) * (1 + r.Jitter*(2*rand.Float64()-1)))
	}
	return max(d, 0)
}
