package tx

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"
)

// Stats is a snapshot of a Manager's counters, taken under one lock, so that
// Begun == Open + Committed + RolledBack + Failed always holds. A transaction
// whose rollback is running counts as open until it ends.
type Stats struct {
	Begun      uint64 `json:"begun"`       // transactions Begin returned
	Open       int    `json:"open"`        // begun and not yet in a final state
	Committed  uint64 `json:"committed"`   // ended in StateCommitted
	RolledBack uint64 `json:"rolled_back"` // ended in StateRolledBack
	Failed     uint64 `json:"failed"`      // ended in StateFailed
}

// Manager creates transactions, tracks the open ones and counts the finished
// ones by final state. Create one with New; the zero value is not usable.
//
// A Manager is safe for concurrent use by multiple goroutines.
type Manager struct {
	cfg Config

	// mu guards open, closed and the counters in stats (stats.Open is
	// computed from open).
	mu     sync.Mutex
	open   map[*Tx]struct{}
	closed bool
	stats  Stats
}

// New validates cfg and returns a Manager with no transactions. It returns
// an error wrapping ErrInvalidConfig if FinishTimeout is negative or a
// compensator is nil or registered under an empty kind.
func New(cfg Config) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Manager{cfg: cfg, open: make(map[*Tx]struct{})}, nil
}

// Begin starts a pending transaction for one attempt (counting from 1) of
// the effect node named node, on behalf of the request operationID (the
// effect's operation id, "" if it has none; a journal records it so that an
// operator can find an operation's transactions), and returns it to the caller, who must end it
// with Commit or Rollback; a deferred Rollback is the usual way, as it does
// nothing after a Commit. It calls Observer.OnBegin before returning. It does
// not block.
//
// It returns ErrClosed once Close has been called.
func (m *Manager) Begin(node string, attempt int, operationID string) (*Tx, error) {
	t := &Tx{
		m:       m,
		id:      newID(),
		node:    node,
		attempt: attempt,
		opID:    operationID,
		begunAt: m.cfg.Now(),
		done:    make(chan struct{}),
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: begin %s attempt %d", ErrClosed, node, attempt)
	}
	m.open[t] = struct{}{}
	m.stats.Begun++
	m.mu.Unlock()
	if o := m.cfg.Observer; o != nil {
		o.OnBegin(t)
	}
	return t, nil
}

// finish removes t, which has just reached the final state s, from the open
// set and counts it. Each transaction reaches a final state exactly once.
func (m *Manager) finish(t *Tx, s State) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.open, t)
	switch s {
	case StateCommitted:
		m.stats.Committed++
	case StateRolledBack:
		m.stats.RolledBack++
	case StateFailed:
		m.stats.Failed++
	}
}

// Stats returns a snapshot of the counters. It does not block on rollbacks.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Open = len(m.open)
	return s
}

// RollbackAll rolls back every transaction open when it is called, all at
// once, each as by Tx.Rollback (so with its own FinishTimeout, whatever ctx
// does), and blocks until all have ended. It is the shutdown step that runs
// after in-flight calls were drained or cancelled.
//
// A transaction that its owner commits or rolls back concurrently ends in
// exactly one final state: if the owner's Commit wins, RollbackAll leaves it
// committed; if a Rollback is already running, RollbackAll waits for it. The
// result joins, for each transaction whose rollback failed, its error wrapped
// with the transaction's ID, node and attempt; it is nil if none failed.
// RollbackAll does not stop Begin; Close does.
func (m *Manager) RollbackAll(ctx context.Context) error {
	m.mu.Lock()
	open := make([]*Tx, 0, len(m.open))
	for t := range m.open {
		open = append(open, t)
	}
	m.mu.Unlock()

	errs := make([]error, len(open))
	var wg sync.WaitGroup
	for i, t := range open {
		wg.Go(func() {
			_, err := t.Rollback(ctx)
			if err != nil && !errors.Is(err, ErrCommitted) {
				errs[i] = fmt.Errorf("tx %s (%s attempt %d): rollback: %w", t.id, t.node, t.attempt, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close stops Begin (it returns ErrClosed from now on) and then calls
// RollbackAll, returning its result. Calling Close again rolls back whatever
// is still open, which is normally nothing.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return m.RollbackAll(ctx)
}

// newID returns a version 7 UUID: time-ordered, so that a journal lists
// transactions in the order they began.
func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// Unreachable: it fails only if crypto/rand does, which since Go 1.24
		// crashes the program instead of returning an error.
		panic(fmt.Sprintf("tx: new transaction ID: %v", err))
	}
	return id.String()
}
