package breaker

import "time"

// Stats is a snapshot of one breaker, taken under its lock so that its
// fields agree with each other. It is a plain value, not updated after it is
// returned; share it freely.
type Stats struct {
	// Service is the breaker's service name.
	Service string
	// State is the breaker's state. An open breaker whose OpenTimeout has
	// passed is still StateOpen (with RetryAfter 0) until a call arrives.
	State State
	// Disabled reports that the breaker's policy is Disabled; such a breaker
	// counts nothing.
	Disabled bool
	// OpenedAt is when the breaker last opened, or the zero time if it has
	// not opened since it was created or Reset.
	OpenedAt time.Time
	// RetryAfter is how long an open breaker stays open; zero in the other
	// states.
	RetryAfter time.Duration

	// Successes, Failures, Rejected, Late and Canceled count calls since
	// the breaker was created or Reset: results judged as successes and as
	// failures; calls that Allow or Do rejected; late results, not judged
	// because the breaker changed state (or was forced, or Reset) while the
	// call ran; and canceled calls, whose caller gave up (never judged).
	// Every admitted call whose Done was called is in exactly one of
	// Successes, Failures, Late and Canceled, so every call asked for is in
	// exactly one of the five once it has finished. A call admitted before
	// a Reset and finished after it is counted (as Late or Canceled) in the
	// new totals.
	Successes, Failures, Rejected, Late, Canceled uint64

	// StateRequests and StateFailures are the results that the current
	// state judges: for a closed breaker, those in the rolling window as of
	// the last recorded result (they leave the window only when a later
	// result is recorded); for a half-open one, the probes recorded so far.
	// Both are zero for an open breaker.
	StateRequests, StateFailures uint64
}

// Stats returns a snapshot of the breaker. It does not change the state. It
// takes the breaker's lock briefly.
func (b *Breaker) Stats() Stats {
	s := Stats{Service: b.service, Disabled: b.policy.Disabled}
	if b.policy.Disabled {
		return s
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s.State = b.state
	s.OpenedAt = b.openedAt
	s.Successes = b.counts.successes
	s.Failures = b.counts.failures
	s.Rejected = b.counts.rejected
	s.Late = b.counts.late
	s.Canceled = b.counts.canceled
	if b.state == StateOpen {
		s.RetryAfter = b.cb.RemainingDelay()
	} else {
		m := b.cb.Metrics()
		s.StateRequests = uint64(m.Executions())
		s.StateFailures = uint64(m.Failures())
	}
	return s
}
