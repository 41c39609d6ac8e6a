package breaker

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
)

// stateBits is how many low bits of Breaker.word hold the State; the
// generation is in the bits above.
const (
	stateBits = 2
	stateMask = 1<<stateBits - 1
)

// Breaker is the circuit breaker of one service. Get one from
// Registry.Get; the zero value is not usable. It is safe for concurrent use
// by multiple goroutines.
//
// Admit a call with Allow and record its result with Permit.Done, or let Do
// do both. State changes are delivered to the registry's callbacks after the
// breaker's lock is released.
type Breaker struct {
	service string
	policy  Policy // with defaults; never modified
	notify  *notifier

	// word is gen<<stateBits | state. It is written under mu and read
	// without it by State and by Allow's fast path for a closed breaker.
	word atomic.Uint64

	// mu guards the fields below and every call into cb. cb has a mutex of
	// its own, but it drops that mutex in the middle of a state change to
	// call its listener, so it is only consistent when all access to it is
	// serialized by mu.
	mu sync.Mutex
	cb circuitbreaker.CircuitBreaker[any]
	// gen changes on every state change and on Reset. A permit of another
	// generation is stale: its result is not recorded.
	gen   uint64
	state State
	// inFlight counts the probes admitted in the current half-open
	// generation whose Done has not been called.
	inFlight int
	openedAt time.Time
	counts   counts
	// changed is set when a state change was queued for the callbacks; the
	// next unlock delivers it.
	changed bool
}

// counts are the totals reported in Stats, since creation or the last Reset.
type counts struct {
	successes, failures, rejected, late, canceled uint64
}

// outcome is how a finished call is recorded.
type outcome int

const (
	success outcome = iota
	failure
	canceled
)

// newBreaker returns a closed breaker for service. policy must be valid and
// have its defaults filled in.
func newBreaker(service string, policy Policy, n *notifier) *Breaker {
	b := &Breaker{service: service, policy: policy, notify: n}
	if policy.Disabled {
		return b
	}
	b.cb = b.newCircuitBreaker()
	return b
}

// newCircuitBreaker returns a closed failsafe-go breaker for b's policy.
func (b *Breaker) newCircuitBreaker() circuitbreaker.CircuitBreaker[any] {
	p := b.policy
	// Rate thresholding in failsafe-go is time based: the window is p.Window
	// and the rate is judged once it holds MinRequests results. failsafe-go
	// cannot combine it with a count threshold; record judges
	// FailureThreshold itself. WithSuccessThreshold(n) keeps n results in
	// half-open: n successes close, and any failure re-opens. The listener
	// runs on the goroutine that holds mu.
	return circuitbreaker.NewBuilder[any]().
		WithFailureRateThreshold(p.FailureRateThreshold, uint(p.MinRequests), p.Window).
		WithSuccessThreshold(uint(p.SuccessThreshold)).
		WithDelay(p.OpenTimeout).
		OnStateChanged(b.onStateChanged).
		Build()
}

// Service returns the service name the breaker was created for.
func (b *Breaker) Service() string {
	return b.service
}

// State returns the breaker's current state without changing it: an open
// breaker whose OpenTimeout has passed reports StateOpen until the next
// Allow half-opens it. It does not block. A disabled breaker reports
// StateClosed.
func (b *Breaker) State() State {
	return State(b.word.Load() & stateMask)
}

// Allow asks to run one call. If the breaker admits it, Allow returns a
// Permit whose Done must be called exactly once with the call's error. If
// not, it returns an *OpenError matching ErrOpen: the breaker is open, or it
// is half-open and HalfOpenMaxRequests probes are running. Allow does not
// block on the call's behalf; it only takes the breaker's lock briefly (not
// at all when closed).
//
// The first Allow after OpenTimeout half-opens the breaker.
func (b *Breaker) Allow() (Permit, error) {
	if b.policy.Disabled {
		return Permit{}, nil
	}
	if w := b.word.Load(); State(w&stateMask) == StateClosed {
		return Permit{b: b, gen: w >> stateBits}, nil
	}
	b.mu.Lock()
	p, err := b.allowLocked()
	b.unlock()
	return p, err
}

// allowLocked is Allow for a breaker that was not closed a moment ago. It
// requires mu.
func (b *Breaker) allowLocked() (Permit, error) {
	if b.state == StateOpen {
		if d := b.cb.RemainingDelay(); d > 0 {
			b.counts.rejected++
			return Permit{}, &OpenError{Service: b.service, State: StateOpen, RetryAfter: d}
		}
		b.cb.HalfOpen()
	}
	if b.state == StateHalfOpen {
		if b.inFlight >= b.policy.HalfOpenMaxRequests {
			b.counts.rejected++
			return Permit{}, &OpenError{Service: b.service, State: StateHalfOpen}
		}
		b.inFlight++
	}
	return Permit{b: b, gen: b.gen}, nil
}

// Do runs fn if the breaker admits a call, records its result and returns
// fn's error. If ctx is already done, Do returns ctx.Err() without asking.
// If the breaker rejects the call, Do returns the *OpenError from Allow and
// fn does not run. If fn panics (or calls runtime.Goexit), the call is
// recorded as a failure and the panic continues. Do blocks for as long as fn
// runs; fn receives ctx unchanged.
func (b *Breaker) Do(ctx context.Context, fn func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := b.Allow()
	if err != nil {
		return err
	}
	finished := false
	defer func() {
		if !finished {
			p.record(failure)
		}
	}()
	err = fn(ctx)
	finished = true
	p.Done(err)
	return err
}

// ForceOpen opens the breaker as if it had tripped: calls are rejected
// until OpenTimeout has passed, then probes are admitted as usual. Results of
// calls admitted before are not recorded. It does nothing to an open or a
// disabled breaker (an open breaker's timer is not restarted).
func (b *Breaker) ForceOpen() {
	if b.policy.Disabled {
		return
	}
	b.mu.Lock()
	b.cb.Open()
	b.unlock()
}

// ForceClose closes the breaker with an empty window. Results of calls
// admitted before are not recorded. It does nothing to a closed or a disabled
// breaker; use Reset to empty a closed breaker's window.
func (b *Breaker) ForceClose() {
	if b.policy.Disabled {
		return
	}
	b.mu.Lock()
	b.cb.Close()
	b.unlock()
}

// Reset closes the breaker, empties its window, zeroes the totals in Stats
// and clears Stats.OpenedAt. Results of calls admitted before Reset are not
// recorded, even if the breaker was already closed. It does nothing to a
// disabled breaker.
func (b *Breaker) Reset() {
	if b.policy.Disabled {
		return
	}
	b.mu.Lock()
	// failsafe-go's Reset is not part of its CircuitBreaker interface, and
	// Close leaves a closed breaker's window as it is: start a new one.
	if b.state != StateClosed {
		b.notify.enqueue(b.service, b.state, StateClosed)
		b.changed = true
	}
	b.cb = b.newCircuitBreaker()
	b.state = StateClosed
	b.inFlight = 0
	b.counts = counts{}
	b.openedAt = time.Time{}
	b.advance()
	b.unlock()
}

// record records the result of a call admitted in generation gen. It
// requires mu.
//
// Every result lands in exactly one count: a canceled call in canceled
// (whatever its generation: the caller gave up, which says nothing about the
// service), a result of a stale generation in late, the others in successes
// or failures.
func (b *Breaker) record(gen uint64, o outcome) {
	current := gen == b.gen
	if current && b.state == StateHalfOpen {
		b.inFlight--
	}
	switch {
	case o == canceled:
		b.counts.canceled++
		return
	case !current:
		b.counts.late++
		return
	case o == success:
		b.counts.successes++
		b.cb.RecordSuccess()
	case o == failure:
		b.counts.failures++
		b.cb.RecordFailure()
	}
	// failsafe-go has judged the rate; judge the count. Failures first:
	// it is usually below the threshold, which saves a call.
	if b.state == StateClosed {
		m := b.cb.Metrics()
		if m.Failures() >= uint(b.policy.FailureThreshold) && m.Executions() >= uint(b.policy.MinRequests) {
			b.cb.Open()
		}
	}
}

// onStateChanged is cb's listener. It runs inside a call into cb, so on a
// goroutine that holds mu.
func (b *Breaker) onStateChanged(e circuitbreaker.StateChangedEvent) {
	from, to := stateOf(e.OldState), stateOf(e.NewState)
	b.state = to
	b.inFlight = 0
	if to == StateOpen {
		b.openedAt = time.Now()
	}
	b.advance()
	b.notify.enqueue(b.service, from, to)
	b.changed = true
}

// advance starts a new generation, so that every outstanding permit is
// stale. It requires mu.
func (b *Breaker) advance() {
	b.gen++
	b.word.Store(b.gen<<stateBits | uint64(b.state))
}

// unlock releases mu, then delivers the state changes queued while it was
// held.
func (b *Breaker) unlock() {
	changed := b.changed
	b.changed = false
	b.mu.Unlock()
	if changed {
		b.notify.deliver()
	}
}

// Permit is a Breaker's admission of one call, returned by Allow. Call Done
// exactly once when the call has finished; a Permit whose Done is never
// called holds a half-open probe slot until the breaker changes state. A
// Permit is a small value and not safe for concurrent use: only the
// goroutine that ran the call calls its Done, once. The zero Permit (returned by a disabled
// breaker) records nothing.
type Permit struct {
	b   *Breaker
	gen uint64
}

// Done records the call's result: a failure if the policy's IsFailure
// reports true for err, else a canceled call (counted in Stats.Canceled,
// never judged) if err matches context.Canceled, else a success. A success or
// failure whose breaker changed state (or was Reset) since Allow is not
// judged and is counted in Stats.Late. Done takes the breaker's
// lock briefly and, if the result changes the state, runs the state-change
// callbacks after releasing it.
func (p Permit) Done(err error) {
	if p.b == nil {
		return
	}
	switch {
	case p.b.policy.IsFailure(err):
		p.record(failure)
	case err != nil && errors.Is(err, context.Canceled):
		p.record(canceled)
	default:
		p.record(success)
	}
}

func (p Permit) record(o outcome) {
	if p.b == nil {
		return
	}
	p.b.mu.Lock()
	p.b.record(p.gen, o)
	p.b.unlock()
}
