package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The waits of these tests come from what they wait for, never from a guess about how
// fast the machine is (CONTRIBUTING.md, "How the cluster tests wait"): a test waits for a
// channel or a condition, for as long as its own deadline allows.

// defaultPatience is how long a test waits for something when go test runs without a
// deadline (-timeout 0).
const defaultPatience = 10 * time.Minute

// patience is how long t may still wait for what it awaits: the time left before its
// deadline (go test -timeout), less a margin for its cleanups and for reporting the
// failure; defaultPatience when there is no deadline. A benchmark gets defaultPatience.
func patience(t testing.TB) time.Duration {
	dt, ok := t.(interface{ Deadline() (time.Time, bool) })
	if !ok {
		return defaultPatience
	}
	deadline, ok := dt.Deadline()
	if !ok {
		return defaultPatience
	}
	left := time.Until(deadline)
	margin := min(max(left/10, time.Second), 30*time.Second)
	return max(left-margin, 0)
}

// patientContext is a context ending after patience(t), canceled when t ends.
func patientContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience(t))
	t.Cleanup(cancel)
	return ctx
}

// eventually waits, as long as patience(t) allows, for cond to hold.
func eventually(t testing.TB, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	require.Eventually(t, cond, patience(t), 5*time.Millisecond, msgAndArgs...)
}

// receive waits, as long as patience(t) allows, for a value on c.
func receive[T any](t testing.TB, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(patience(t)):
		t.Fatalf("gave up waiting for %s", what)
	}
	var zero T
	return zero
}
