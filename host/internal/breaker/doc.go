// Package breaker is the host-owned registry of circuit breakers, one per
// service an effect node talks to ("http:api.example.com", "fs:/srv/data",
// "kv"). One Registry is shared by every goroutine that runs effect nodes, and
// it and its breakers are safe for concurrent use by any number of them.
//
// It replaces ONEX's ModelCircuitBreaker, which races when shared, and keeps
// its semantics:
//
//   - Closed: every call is admitted. After each recorded result, once the
//     rolling [Policy.Window] holds at least [Policy.MinRequests] results, the
//     breaker opens if the failures in it reach [Policy.FailureThreshold] or
//     their share reaches [Policy.FailureRateThreshold].
//   - Open: calls fail fast with an [*OpenError] that matches [ErrOpen]. The
//     first call after [Policy.OpenTimeout] moves the breaker to half-open;
//     nothing runs in the background.
//   - Half-open: at most [Policy.HalfOpenMaxRequests] calls run at once.
//     [Policy.SuccessThreshold] successes close the breaker; any failure opens
//     it again.
//
// Thread safety is by construction rather than by care:
//
//   - A call is admitted with [Breaker.Allow], which returns a [Permit], and
//     its result is recorded with [Permit.Done] ([Breaker.Do] wraps both).
//     The permit carries the breaker's generation, which changes on every
//     state change and on [Breaker.Reset]. A result whose generation is no
//     longer current is not recorded: a slow call admitted while the breaker
//     was closed cannot count against the half-open state that followed, nor
//     against the fresh window after a reset. Such results are counted in
//     [Stats.Late]; canceled calls in [Stats.Canceled].
//   - Half-open admission is bounded by an in-flight count kept under the
//     breaker's mutex, taken by Allow and given back by Done of the same
//     generation, so the bound holds exactly under any number of callers.
//   - Successes, failures, rejections, late and canceled results are counted under
//     the same mutex, so [Registry.Snapshot] is exact.
//   - State-change callbacks ([Registry.OnStateChange]) and the log record of
//     each change run after the mutex is released, one at a time and in the
//     order of the changes, so a callback may call back into the breaker or
//     the registry.
//
// The statistics, the rate threshold, the open delay and the half-open success
// counting come from failsafe-go's circuitbreaker package
// (github.com/failsafe-go/failsafe-go), which this package keeps behind its own
// types. failsafe-go reads the wall clock (time.Now) and cannot be given
// another one, so tests drive time with testing/synctest.
package breaker
