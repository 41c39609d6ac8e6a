package tx

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/onexhost/onex-host/abi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The life of one operation in the hammer tests, kept in opLife.state.
const (
	opRecorded int32 = iota
	opPerforming
	opPerformed
	opCompensated
)

// ledger watches every operation of a hammer test: it is the Compensator and
// the Publish function, and counts what would break the package's promises.
type ledger struct {
	ops sync.Map // opKey -> *atomic.Int32 holding an op* constant

	compensations atomic.Int64
	published     atomic.Int64
	twice         atomic.Int64 // an operation compensated twice
	whileRunning  atomic.Int64 // compensated while its Apply was performing it
	afterUndo     atomic.Int64 // performed after it was compensated
	unknown       atomic.Int64 // compensated but never recorded
}

type opKey struct {
	tx  string
	seq int
}

func (l *ledger) state(tx string, seq int) *atomic.Int32 {
	v, _ := l.ops.LoadOrStore(opKey{tx, seq}, new(atomic.Int32))
	return v.(*atomic.Int32)
}

// perform is the body of an Apply of operation seq of tx.
func (l *ledger) perform(tx *Tx, seq int) error {
	s := l.state(tx.ID(), seq)
	if !s.CompareAndSwap(opRecorded, opPerforming) {
		l.afterUndo.Add(1)
		return nil
	}
	runtime.Gosched() // leave room for a rollback to start meanwhile
	s.CompareAndSwap(opPerforming, opPerformed)
	return nil
}

func (l *ledger) Compensate(_ context.Context, op Operation) error {
	l.compensations.Add(1)
	v, ok := l.ops.Load(opKey{op.Service, op.Seq})
	if !ok {
		l.unknown.Add(1)
		return nil
	}
	switch v.(*atomic.Int32).Swap(opCompensated) {
	case opCompensated:
		l.twice.Add(1)
	case opPerforming:
		l.whileRunning.Add(1)
	}
	if op.Target == "fail" {
		return errBoom
	}
	return nil
}

func (l *ledger) publish(context.Context, abi.Event) error {
	l.published.Add(1)
	return nil
}

// tally counts final states as the owners saw them.
type tally struct {
	lost                          atomic.Int64 // attempts a RollbackAll ended before their owner
	committed, rolledBack, failed atomic.Uint64
	ops, heldCommitted            atomic.Int64
	opsRolledBack                 atomic.Int64
}

func (c *tally) add(tb testing.TB, res Result, held int) {
	switch res.State {
	case StateCommitted:
		c.committed.Add(1)
		c.heldCommitted.Add(int64(held))
	case StateRolledBack:
		c.rolledBack.Add(1)
		c.opsRolledBack.Add(int64(res.SideEffectsApplied))
	case StateFailed:
		c.failed.Add(1)
		c.opsRolledBack.Add(int64(res.SideEffectsApplied))
	default:
		tb.Errorf("transaction %s ended in %s", res.ID, res.State)
	}
	c.ops.Add(int64(res.SideEffectsApplied))
}

// newLedgerManager returns a manager whose compensations and publishes go to
// a new ledger. Operations carry their transaction's ID as Service so that
// the ledger can find them.
func newLedgerManager(tb testing.TB) (*Manager, *ledger) {
	tb.Helper()
	l := &ledger{}
	m, err := New(Config{Compensators: map[string]Compensator{KindFSWrite: l}, Publish: l.publish})
	require.NoError(tb, err)
	return m, l
}

// runAttempt plays one effect attempt: a few applied operations (one in
// ten targets "fail", whose compensation fails), a few held events, then a
// commit or, with rollback set, a rollback. Any step may find that a
// RollbackAll got there first; the attempt then collects the outcome with
// Rollback. It returns the final Result and the number of events held.
func runAttempt(tb testing.TB, m *Manager, l *ledger, c *tally, rng *rand.Rand, rollback bool) (Result, int) {
	tx, err := m.Begin("hammer", 1, "")
	require.NoError(tb, err)
	held := 0
	lost := false // a RollbackAll won
	n := rng.IntN(4)
	for seq := 1; seq <= n && !lost; seq++ {
		op := Operation{Kind: KindFSWrite, Service: tx.ID(), Target: fmt.Sprint(seq), Compensation: &Compensation{}}
		if rng.IntN(10) == 0 {
			op.Target = "fail"
		}
		l.state(tx.ID(), seq) // registered before Apply, so the compensator finds it
		err := tx.Apply(op, func() error { return l.perform(tx, seq) })
		if errors.Is(err, ErrRolledBack) {
			lost = true
		} else if !assert.NoError(tb, err) {
			return Result{}, 0
		}
	}
	for range rng.IntN(3) {
		if lost {
			break
		}
		if err := tx.Hold(event("e")); errors.Is(err, ErrRolledBack) {
			lost = true
		} else if !assert.NoError(tb, err) {
			return Result{}, 0
		}
		held++
	}
	if !lost && !rollback {
		res, err := tx.Commit(context.Background())
		if err == nil {
			return res, held
		}
		assert.ErrorIs(tb, err, ErrRolledBack)
		lost = true
	}
	if lost {
		c.lost.Add(1)
	}
	res, err := tx.Rollback(context.Background())
	if err != nil {
		assert.ErrorIs(tb, err, errBoom)
		assert.Equal(tb, StateFailed, res.State)
	}
	return res, held
}

// check compares the owners' tally with the manager's counters and the
// ledger.
func check(t *testing.T, m *Manager, l *ledger, c *tally, total int) {
	t.Helper()
	s := m.Stats()
	assert.Equal(t, Stats{
		Begun:      uint64(total),
		Committed:  c.committed.Load(),
		RolledBack: c.rolledBack.Load(),
		Failed:     c.failed.Load(),
	}, s)
	assert.Equal(t, s.Begun, s.Committed+s.RolledBack+s.Failed)
	assert.Zero(t, l.twice.Load(), "operation compensated twice")
	assert.Zero(t, l.whileRunning.Load(), "operation compensated while being performed")
	assert.Zero(t, l.afterUndo.Load(), "operation performed after its compensation")
	assert.Zero(t, l.unknown.Load(), "compensation of an unknown operation")
	assert.Equal(t, c.opsRolledBack.Load(), l.compensations.Load(), "every operation of every rolled-back transaction compensated once")
	assert.Equal(t, c.heldCommitted.Load(), l.published.Load(), "events published exactly for the commits")
	t.Logf("stats %+v, operations %d, compensations %d, published %d", s, c.ops.Load(), l.compensations.Load(), l.published.Load())
}

// TestManager_Hammer runs many transactions at once and checks that every
// one ends in exactly one final state, that the counts are exact, and that
// no operation is compensated twice, while being performed, or never.
func TestManager_Hammer(t *testing.T) {
	const goroutines, attempts = 64, 150

	t.Run("random commit and rollback", func(t *testing.T) {
		m, l := newLedgerManager(t)
		var c tally
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 1))
				for range attempts {
					res, held := runAttempt(t, m, l, &c, rng, rng.IntN(2) == 0)
					c.add(t, res, held)
				}
			})
		}
		wg.Wait()
		check(t, m, l, &c, goroutines*attempts)
		assert.NotZero(t, c.committed.Load())
		assert.NotZero(t, c.rolledBack.Load())
		assert.NotZero(t, c.failed.Load())
	})

	t.Run("RollbackAll racing the owners", func(t *testing.T) {
		m, l := newLedgerManager(t)
		var c tally
		var owners, sweeper sync.WaitGroup
		stop := make(chan struct{})
		var sweeps atomic.Int64
		sweeper.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := m.RollbackAll(context.Background()); err != nil {
					assert.ErrorIs(t, err, errBoom)
				}
				sweeps.Add(1)
				runtime.Gosched()
			}
		})
		for g := range goroutines {
			owners.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 2))
				for range attempts {
					// Mostly commits, which is what RollbackAll races.
					res, held := runAttempt(t, m, l, &c, rng, rng.IntN(8) == 0)
					c.add(t, res, held)
				}
			})
		}
		owners.Wait()
		close(stop)
		sweeper.Wait()
		require.NoError(t, m.Close(context.Background()))
		check(t, m, l, &c, goroutines*attempts)
		assert.NotZero(t, c.committed.Load())
		assert.NotZero(t, c.lost.Load(), "RollbackAll never won a race")
		t.Logf("sweeps %d, attempts rolled back by RollbackAll %d", sweeps.Load(), c.lost.Load())
	})
}
