package tx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/onexhost/onex-host/abi"
	"github.com/stretchr/testify/require"
)

var errBoom = errors.New("boom")

// journal is a Compensator that logs which operations it compensated, in
// order, and fails those whose Target is in fail.
type journal struct {
	fail map[string]error

	mu   sync.Mutex
	done []string // Targets compensated, in call order
}

func (j *journal) Compensate(_ context.Context, op Operation) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.done = append(j.done, op.Target)
	return j.fail[op.Target]
}

func (j *journal) calls() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.done...)
}

// newTestManager returns a manager whose kinds "fs.write", "kv.put" and
// "guest" are compensated by c.
func newTestManager(tb testing.TB, c Compensator, cfg Config) *Manager {
	tb.Helper()
	cfg.Compensators = map[string]Compensator{KindFSWrite: c, KindKVPut: c, KindGuest: c}
	m, err := New(cfg)
	require.NoError(tb, err)
	return m
}

// begin starts a transaction and fails the test on error.
func begin(tb testing.TB, m *Manager) *Tx {
	tb.Helper()
	t, err := m.Begin("writer", 1, "")
	require.NoError(tb, err)
	return t
}

// write returns a reversible fs.write of target.
func write(target string) Operation {
	return Operation{
		Kind:         KindFSWrite,
		Service:      "fs:/srv",
		Target:       target,
		Compensation: &Compensation{Existed: true, Previous: []byte("old " + target), Mode: 0o644},
	}
}

// event returns a valid event whose key is key.
func event(key string) abi.Event {
	return abi.Event{EventType: "file.written", Topic: "onex.evt.fs.written.v1", Key: key, Payload: json.RawMessage(`{"k":"` + key + `"}`)}
}

// outbox collects published events; it fails the publish of events whose
// Key is in fail.
type outbox struct {
	fail map[string]bool

	mu   sync.Mutex
	got  []string // keys, in publish order
	errs int
}

func (o *outbox) publish(ctx context.Context, e abi.Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if o.fail[e.Key] {
		o.errs++
		return fmt.Errorf("bus down for %s: %w", e.Key, errBoom)
	}
	o.got = append(o.got, e.Key)
	return nil
}

func (o *outbox) keys() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.got...)
}
