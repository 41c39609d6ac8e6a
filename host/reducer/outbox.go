package reducer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Pending returns up to limit outbox entries (all when limit <= 0) in the order they
// were committed. Errors: ErrClosed, or a corrupt record.
func (s *Store) Pending(limit int) ([]OutboxEntry, error) {
	var out []OutboxEntry
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if limit > 0 && len(out) == limit {
				return nil
			}
			var e OutboxEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("%w: outbox: %v", errCorrupt, err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Done removes the outbox entry with operation id opID: its intent has been carried
// out. An unknown id (already done) is not an error. Errors: ErrClosed, a failed commit.
func (s *Store) Done(opID string) error {
	err := s.update(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bucketOutboxID)
		n := idx.Get([]byte(opID))
		if n == nil {
			return nil
		}
		if err := tx.Bucket(bucketOutbox).Delete(n); err != nil {
			return err
		}
		return idx.Delete([]byte(opID))
	})
	if err != nil {
		return fmt.Errorf("reducer: outbox done %s: %w", opID, err)
	}
	return nil
}

// Carry carries one intent out, typically by invoking the effect node it names with
// the entry's OperationID as the operation id. It must be idempotent for one operation
// id: the dispatcher calls it again after a crash or a failure.
type Carry func(ctx context.Context, e OutboxEntry) error

// DispatchConfig configures a Dispatcher; a zero field means its default.
type DispatchConfig struct {
	MinBackoff time.Duration // first wait after a failed Carry; default 50 ms
	MaxBackoff time.Duration // the wait doubles up to this; default 5 s
	Poll       time.Duration // re-read the outbox this often when idle; default 1 s
	Batch      int           // entries read per pass; default 64
}

// Dispatcher carries the outbox's intents out at least once, in commit order, one at a
// time, through a Carry; an entry is removed (Done) only after Carry succeeded. A Carry
// error matching ErrPermanent (see Permanent) moves the entry to the failed intents
// (Store.FailedIntents, Store.RetryFailed) and the dispatcher goes on with the next
// entry. After any other failure it waits (doubling from MinBackoff to MaxBackoff) and retries from the
// oldest pending entry. Create one with NewDispatcher and run it with Run. Safe for
// concurrent use, but run one Dispatcher per Store.
type Dispatcher struct {
	store *Store
	carry Carry
	cfg   DispatchConfig
}

// NewDispatcher returns a dispatcher for store's outbox.
func NewDispatcher(store *Store, carry Carry, cfg DispatchConfig) *Dispatcher {
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 50 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(5*time.Second, cfg.MinBackoff)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 64
	}
	return &Dispatcher{store: store, carry: carry, cfg: cfg}
}

// Run carries intents out until ctx is done (it then returns ctx.Err()) or the store
// is closed (ErrClosed). It blocks; a Carry in progress is given ctx and is waited for.
func (d *Dispatcher) Run(ctx context.Context) error {
	backoff := time.Duration(0)
	for {
		wait := d.cfg.Poll
		n, err := d.pass(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, ErrClosed):
			return err
		case err != nil:
			backoff = min(max(2*backoff, d.cfg.MinBackoff), d.cfg.MaxBackoff)
			wait = backoff
		default:
			backoff = 0
			if n == d.cfg.Batch {
				continue // more may be waiting
			}
		}
		signal := d.store.outbox
		if err != nil {
			signal = nil // after a failure, wait out the backoff
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-d.store.group.Done():
			t.Stop()
			return ErrClosed
		case <-signal:
			t.Stop()
		case <-t.C:
		}
	}
}

// pass carries out up to Batch pending entries; it stops at the first failure that is
// not permanent. A permanently failed entry counts as handled.
func (d *Dispatcher) pass(ctx context.Context) (int, error) {
	es, err := d.store.Pending(d.cfg.Batch)
	if err != nil {
		return 0, err
	}
	for _, e := range es {
		if err := d.carry(ctx, e); err != nil {
			if !errors.Is(err, ErrPermanent) || ctx.Err() != nil {
				return 0, err
			}
			if err := d.store.fail(e, err); err != nil {
				return 0, err
			}
			continue
		}
		if err := d.store.Done(e.OperationID); err != nil {
			return 0, err
		}
	}
	return len(es), nil
}
