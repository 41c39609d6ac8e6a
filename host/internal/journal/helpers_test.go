package journal

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/tx"
	"github.com/stretchr/testify/require"
)

var errBoom = errors.New("boom")

// journalPath returns a path for a journal file in a fresh directory.
func journalPath(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "journal.db")
}

// openJournal opens the journal at path and closes it when the test ends.
func openJournal(tb testing.TB, path string, opts Options) *Journal {
	tb.Helper()
	j, err := Open(path, opts)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = j.Close() })
	return j
}

// compensator records the targets it compensated, in call order, and fails
// those in fail.
type compensator struct {
	fail map[string]error

	mu   sync.Mutex
	done []string // targets, in call order
}

func (c *compensator) Compensate(_ context.Context, op tx.Operation) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = append(c.done, op.Target)
	return c.fail[op.Target]
}

func (c *compensator) calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.done...)
}

// compensators returns the map of kinds used in tests, all handled by c.
func compensators(c tx.Compensator) map[string]tx.Compensator {
	return map[string]tx.Compensator{tx.KindFSWrite: c, tx.KindKVPut: c}
}

// newManager returns a manager journaled by j whose kinds are compensated by
// c and whose events go to publish (which may be nil: no outbox).
func newManager(tb testing.TB, j *Journal, c tx.Compensator, publish func(context.Context, abi.Event) error) *tx.Manager {
	tb.Helper()
	m, err := tx.New(tx.Config{Compensators: compensators(c), Publish: publish, Observer: j})
	require.NoError(tb, err)
	return m
}

// discard is a publish function that accepts every event.
func discard(context.Context, abi.Event) error { return nil }

// write returns a reversible fs.write of target whose before-image is
// "old <target>".
func write(target string) tx.Operation {
	return tx.Operation{
		Kind:         tx.KindFSWrite,
		Service:      "fs:/srv",
		Target:       target,
		Compensation: &tx.Compensation{Existed: true, Previous: []byte("old " + target), Mode: 0o644},
	}
}

// event returns a valid event whose key is key.
func event(key string) abi.Event {
	return abi.Event{EnvelopeID: "env-" + key, EventType: "file.written", Topic: "onex.evt.fs.written.v1", Key: key}
}

// apply applies the writes of targets to t, failing the test on error.
func apply(tb testing.TB, t *tx.Tx, targets ...string) {
	tb.Helper()
	for _, target := range targets {
		require.NoError(tb, t.Apply(write(target), func() error { return nil }))
	}
}

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// targets returns the targets of ops, in order.
func targets(ops []tx.Operation) []string {
	out := make([]string, len(ops))
	for i, op := range ops {
		out[i] = op.Target
	}
	return out
}
