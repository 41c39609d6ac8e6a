package kv

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/onexhost/onex-host/host/internal/tx"
)

// servicePrefix starts the Service of every operation this package records;
// the namespace follows it.
const servicePrefix = "kv:"

// WithTx returns a Store that reaches the namespace of s and records each
// Put and Delete in t, so that rolling t back undoes them (with a
// Compensator registered in t's Manager for tx.KindKVPut and
// tx.KindKVDelete). Get and List pass through to s and see the writes made
// so far, committed or not.
//
// Put and Delete read the key's before-image from s, record a tx.Operation
// holding it with t.Apply (so an observer, such as a journal, sees the
// operation before it happens), and then perform the write on s. They return
// Apply's error if the transaction refuses the operation (for example
// tx.ErrRolledBack or tx.ErrNoCompensator), in which case nothing is written,
// and otherwise the write's error. A write that fails after being recorded
// stays in the log; its compensation copes with it not having happened.
// Delete of an absent key records nothing. A put's Detail is
// {"size":<bytes written>}. Arguments are checked before anything is
// recorded when s comes from DB.Namespace; for another Store, a Put of a
// value s refuses as too large is recorded first (and compensated
// harmlessly). The before-image is read just before the write, not under a
// lock: see the package comment on isolation.
//
// Close detaches the returned Store only; s stays open. The Store is safe for
// concurrent use by multiple goroutines, as t and s are.
func WithTx(s Store, t *tx.Tx) Store {
	return &txStore{s: s, t: t}
}

// txStore is the Store WithTx returns.
type txStore struct {
	s      Store
	t      *tx.Tx
	closed atomic.Bool
}

func (w *txStore) Namespace() string { return w.s.Namespace() }

// check returns an error wrapping ErrClosed if w was closed, or nil.
func (w *txStore) check(op, key string) error {
	if w.closed.Load() {
		return fmt.Errorf("kv tx %s %q: %s %.64q: %w", w.t.ID(), w.s.Namespace(), op, key, ErrClosed)
	}
	return nil
}

func (w *txStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := w.check("get", key); err != nil {
		return nil, false, err
	}
	return w.s.Get(ctx, key)
}

func (w *txStore) List(ctx context.Context, prefix string, limit int) ([]Entry, error) {
	if err := w.check("list", prefix); err != nil {
		return nil, err
	}
	return w.s.List(ctx, prefix, limit)
}

func (w *txStore) Put(ctx context.Context, key string, value []byte) error {
	if err := w.check("put", key); err != nil {
		return err
	}
	if v, ok := w.s.(*view); ok {
		if err := v.checkPut(key, value); err != nil {
			return v.wrap("put", key, err)
		}
	}
	prev, existed, err := w.s.Get(ctx, key)
	if err != nil {
		return err
	}
	op := tx.Operation{
		Kind:         tx.KindKVPut,
		Service:      servicePrefix + w.s.Namespace(),
		Target:       key,
		Detail:       fmt.Appendf(nil, `{"size":%d}`, len(value)),
		Compensation: &tx.Compensation{Existed: existed, Previous: prev},
	}
	return w.t.Apply(op, func() error { return w.s.Put(ctx, key, value) })
}

func (w *txStore) Delete(ctx context.Context, key string) (bool, error) {
	if err := w.check("delete", key); err != nil {
		return false, err
	}
	prev, existed, err := w.s.Get(ctx, key)
	if err != nil || !existed {
		return false, err
	}
	op := tx.Operation{
		Kind:         tx.KindKVDelete,
		Service:      servicePrefix + w.s.Namespace(),
		Target:       key,
		Compensation: &tx.Compensation{Existed: true, Previous: prev},
	}
	var deleted bool
	err = w.t.Apply(op, func() error {
		var err error
		deleted, err = w.s.Delete(ctx, key)
		return err
	})
	return deleted, err
}

func (w *txStore) Close() error {
	w.closed.Store(true)
	return nil
}
