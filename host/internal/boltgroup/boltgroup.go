// Package boltgroup is the group committer host/reducer and host/orchestrator share:
// concurrent bbolt write transactions queued while the previous one was being written
// are merged into one transaction, so they share one fsync.
package boltgroup

import (
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("boltgroup: committer is closed")

// Committer merges concurrent updates of one bbolt database into shared transactions.
// Create one with New and stop it with Close (before closing the database); the zero
// value is not usable. Safe for concurrent use by multiple goroutines.
type Committer struct {
	db       *bolt.DB
	maxBatch int

	reqs    chan *txReq   // commits for the committer goroutine
	stop    chan struct{} // closed by Close
	stopped chan struct{} // closed when the committer has returned

	closeOnce sync.Once
}

type txReq struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// New starts a committer on db taking at most maxBatch updates per transaction (256
// when maxBatch ≤ 0).
func New(db *bolt.DB, maxBatch int) *Committer {
	if maxBatch <= 0 {
		maxBatch = 256
	}
	c := &Committer{db: db, maxBatch: maxBatch, reqs: make(chan *txReq), stop: make(chan struct{}), stopped: make(chan struct{})}
	go c.loop()
	return c
}

// Close stops the committer: updates queued behind it fail with ErrClosed. It blocks
// until a transaction in progress has finished. Idempotent; it does not close the
// database.
func (c *Committer) Close() {
	c.closeOnce.Do(func() {
		close(c.stop)
		<-c.stopped
	})
}

// Done returns a channel closed by Close.
func (c *Committer) Done() <-chan struct{} { return c.stop }

// Closed reports whether Close was called.
func (c *Committer) Closed() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// Update runs fn in a read-write transaction shared with the other updates queued at
// the time. fn may run twice: when a shared transaction fails, each of its fns is run
// again alone, so fn must derive everything it writes from tx. It blocks until the
// transaction has committed (and, unless the database is NoSync, is durable).
// Errors: fn's, the commit's, or ErrClosed.
func (c *Committer) Update(fn func(*bolt.Tx) error) error {
	if c.Closed() {
		return ErrClosed
	}
	r := &txReq{fn: fn, done: make(chan error, 1)}
	select {
	case c.reqs <- r:
		return <-r.done
	case <-c.stop:
		return ErrClosed
	}
}

// loop takes one update, then every update already queued (up to maxBatch), and writes
// them in one transaction. While that transaction syncs, the next batch queues up, so
// the batch size follows the load with no added delay.
func (c *Committer) loop() {
	defer close(c.stopped)
	batch := make([]*txReq, 0, c.maxBatch)
	for {
		select {
		case <-c.stop:
			return
		case r := <-c.reqs:
			batch = append(batch[:0], r)
		}
	drain:
		for len(batch) < c.maxBatch {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		c.commit(batch)
	}
}

func (c *Committer) commit(batch []*txReq) {
	if len(batch) == 1 {
		batch[0].done <- c.db.Update(batch[0].fn)
		return
	}
	err := c.db.Update(func(tx *bolt.Tx) error {
		for _, r := range batch {
			if err := r.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		for _, r := range batch {
			r.done <- nil
		}
		return
	}
	// One fn failed (or the commit did): run each alone so only the failing one fails.
	for _, r := range batch {
		r.done <- c.db.Update(r.fn)
	}
}
