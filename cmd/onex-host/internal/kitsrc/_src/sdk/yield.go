package sdk

import "time"

// When the exports yield to the guest's scheduler.
//
// A Go guest has one thread, and its garbage collector's background workers are
// goroutines that run only when the running goroutine yields: a guest that allocates on
// every call and never yields never finishes a GC cycle, and grows until it traps out of
// memory (measured: 20,000 calls of 64 KiB reached 2.1 GiB). Yielding on every call fixes
// that but is expensive where it matters most: under the host's guarded execution every
// loop of the Go scheduler exits to the host, and one runtime.Gosched costs ~7-12 µs —
// most of a small call (measured 17 µs with a yield per call, 5.6 µs without; see
// BENCHMARKS.md). So the exports yield when a call is likely to have left garbage behind:
//
//   - every yieldEvery calls, which bounds the garbage of small calls;
//   - after a call that moved at least yieldBytes of input, output and capability
//     requests and responses, whose buffers are garbage;
//   - after a call whose handler ran at least yieldAfter, long enough to have allocated
//     a lot.
//
// The memory soak tests in host/guest_test.go hold a guest that allocates on every call
// (64 KiB and 2 MiB per call) bounded under a 64 MiB limit.
const (
	yieldEvery = 16
	yieldBytes = 64 << 10
	yieldAfter = time.Millisecond
)

// yieldPolicy counts calls since the last yield. Not safe for concurrent use; the guest
// is single-threaded.
type yieldPolicy struct {
	calls int
}

// after records one call that moved moved bytes and ran for took, and reports whether
// the export should yield now.
func (y *yieldPolicy) after(moved int, took time.Duration) bool {
	y.calls++
	if y.calls >= yieldEvery || moved >= yieldBytes || took >= yieldAfter {
		y.calls = 0
		return true
	}
	return false
}
