package kv

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/onexhost/onex-host/host/internal/tx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mutate makes the three writes of the integration tests through w: an
// overwrite, a new key and a delete, plus a delete of an absent key, which
// records nothing.
func mutate(t *testing.T, w Store) {
	t.Helper()
	ctx := t.Context()
	require.NoError(t, w.Put(ctx, "a", []byte("10")))
	require.NoError(t, w.Put(ctx, "c", []byte("3")))
	existed, err := w.Delete(ctx, "b")
	require.NoError(t, err)
	assert.True(t, existed)
	existed, err = w.Delete(ctx, "missing")
	require.NoError(t, err)
	assert.False(t, existed)
}

func TestWithTx_Rollback(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := t.Context()
		db := open(t, Config{})
		s, other := ns(t, db, "node"), ns(t, db, "other")
		before := map[string]string{"a": "1", "b": "2", "d": ""}
		put(t, s, before)
		put(t, other, map[string]string{"a": "x"})
		rec := &recorder{}
		m := newManager(t, db, rec)
		txn := begin(t, m)

		w := WithTx(s, txn)
		assert.Equal(t, "node", w.Namespace())
		mutate(t, w)
		assert.Equal(t, map[string]string{"a": "10", "c": "3", "d": ""}, dump(t, w), "the transaction sees its writes")
		assert.Equal(t, dump(t, w), dump(t, s), "writes happen at once")

		ops := rec.recorded()
		require.Len(t, ops, 3)
		assert.Equal(t, []tx.Operation{
			{Seq: 1, Kind: tx.KindKVPut, Service: "kv:node", Target: "a", Detail: []byte(`{"size":2}`),
				Compensation: &tx.Compensation{Existed: true, Previous: []byte("1")}},
			{Seq: 2, Kind: tx.KindKVPut, Service: "kv:node", Target: "c", Detail: []byte(`{"size":1}`),
				Compensation: &tx.Compensation{Existed: false}},
			{Seq: 3, Kind: tx.KindKVDelete, Service: "kv:node", Target: "b",
				Compensation: &tx.Compensation{Existed: true, Previous: []byte("2")}},
		}, withoutTimes(ops))

		res, err := txn.Rollback(ctx)
		require.NoError(t, err)
		assert.Equal(t, tx.StateRolledBack, res.State)
		assert.Equal(t, 3, res.SideEffectsApplied)
		for _, op := range res.RollbackOperations {
			assert.Equal(t, tx.OutcomeCompensated, op.Outcome, op.Target)
		}
		assert.Equal(t, before, dump(t, s))
		assert.Equal(t, map[string]string{"a": "x"}, dump(t, other))

		// After the rollback the transaction refuses writes: nothing changes.
		err = w.Put(ctx, "a", []byte("late"))
		require.ErrorIs(t, err, tx.ErrRolledBack)
		_, err = w.Delete(ctx, "a")
		require.ErrorIs(t, err, tx.ErrRolledBack)
		assert.Equal(t, before, dump(t, s))
	})
}

// withoutTimes returns ops with RecordedAt zeroed.
func withoutTimes(ops []tx.Operation) []tx.Operation {
	for i := range ops {
		ops[i].RecordedAt = time.Time{}
	}
	return ops
}

func TestWithTx_Commit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		db := open(t, Config{})
		s := ns(t, db, "node")
		put(t, s, map[string]string{"a": "1", "b": "2"})
		txn := begin(t, newManager(t, db, nil))
		mutate(t, WithTx(s, txn))
		res, err := txn.Commit(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 3, res.SideEffectsApplied)
		_, err = txn.Rollback(t.Context())
		require.ErrorIs(t, err, tx.ErrCommitted)
		assert.Equal(t, map[string]string{"a": "10", "c": "3"}, dump(t, s))
	})
}

// Writes a transaction refuses, or the Store refuses, change nothing and
// record nothing.
func TestWithTx_Refused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := t.Context()
		tests := []struct {
			name    string
			comps   bool // register the kv compensators
			do      func(w Store) error
			wantErr error
		}{
			{name: "invalid key", comps: true, do: func(w Store) error { return w.Put(ctx, "", []byte("v")) }, wantErr: ErrInvalidKey},
			{name: "invalid delete key", comps: true, do: func(w Store) error { return errOf(w.Delete(ctx, "\xff")) }, wantErr: ErrInvalidKey},
			{name: "value too large", comps: true, do: func(w Store) error { return w.Put(ctx, "a", make([]byte, 9)) }, wantErr: ErrTooLarge},
			{name: "no compensator for put", do: func(w Store) error { return w.Put(ctx, "a", []byte("v")) }, wantErr: tx.ErrNoCompensator},
			{name: "no compensator for delete", do: func(w Store) error { return errOf(w.Delete(ctx, "a")) }, wantErr: tx.ErrNoCompensator},
			{name: "closed tx store", comps: true, do: func(w Store) error {
				require.NoError(t, w.Close())
				return w.Put(ctx, "a", []byte("v"))
			}, wantErr: ErrClosed},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				db := open(t, Config{MaxValueSize: 8})
				s := ns(t, db, "node")
				put(t, s, map[string]string{"a": "1"})
				var m *tx.Manager
				if tt.comps {
					m = newManager(t, db, nil)
				} else {
					var err error
					m, err = tx.New(tx.Config{})
					require.NoError(t, err)
				}
				txn := begin(t, m)
				require.ErrorIs(t, tt.do(WithTx(s, txn)), tt.wantErr)
				assert.Equal(t, map[string]string{"a": "1"}, dump(t, s), "the base Store stays usable")
				res, err := txn.Commit(ctx)
				require.NoError(t, err)
				assert.Zero(t, res.SideEffectsApplied)
			})
		}
	})
}

// TestWithTx_Hammer runs 16 transactions at once on one namespace, each on
// keys of its own; even ones commit and odd ones roll back. The final state
// holds exactly the committed writes.
func TestWithTx_Hammer(t *testing.T) {
	const goroutines, keys = 16, 5
	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := t.Context()
		db := open(t, Config{})
		s := ns(t, db, "node")
		want := map[string]string{}
		for g := range goroutines {
			for k := range keys {
				key := fmt.Sprintf("%02d/%d", g, k)
				put(t, s, map[string]string{key: "orig"})
				want[key] = "orig"
			}
		}
		m := newManager(t, db, nil)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				txn, err := m.Begin(fmt.Sprintf("node-%d", g), 1, "")
				if !assert.NoError(t, err) {
					return
				}
				w := WithTx(s, txn)
				<-start
				for k := range keys {
					key := fmt.Sprintf("%02d/%d", g, k)
					assert.NoError(t, w.Put(ctx, key, []byte("v1")))
					assert.NoError(t, w.Put(ctx, key, []byte("v2")))
					if k%2 == 0 {
						_, err := w.Delete(ctx, key)
						assert.NoError(t, err)
					}
					assert.NoError(t, w.Put(ctx, key+"/new", []byte("n")))
				}
				if g%2 == 0 {
					_, err = txn.Commit(ctx)
				} else {
					_, err = txn.Rollback(ctx)
				}
				assert.NoError(t, err)
			})
		}
		close(start)
		wg.Wait()

		for g := 0; g < goroutines; g += 2 {
			for k := range keys {
				key := fmt.Sprintf("%02d/%d", g, k)
				if k%2 == 0 {
					delete(want, key)
				} else {
					want[key] = "v2"
				}
				want[key+"/new"] = "n"
			}
		}
		assert.Equal(t, want, dump(t, s))
		stats := m.Stats()
		assert.Equal(t, tx.Stats{Begun: goroutines, Committed: goroutines / 2, RolledBack: goroutines / 2}, stats)
	})
}

// A journal that refuses an operation keeps it from happening; the rollback
// still compensates it, harmlessly.
func TestWithTx_JournalRefuses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := t.Context()
		db := open(t, Config{})
		s := ns(t, db, "node")
		before := map[string]string{"a": "1", "b": "2"}
		put(t, s, before)
		txn := begin(t, newManager(t, db, &recorder{fail: errJournal}))
		w := WithTx(s, txn)

		require.ErrorIs(t, w.Put(ctx, "a", []byte("10")), errJournal)
		require.ErrorIs(t, w.Put(ctx, "c", []byte("3")), errJournal)
		existed, err := w.Delete(ctx, "b")
		require.ErrorIs(t, err, errJournal)
		assert.False(t, existed)
		assert.Equal(t, before, dump(t, s))

		res, err := txn.Rollback(ctx)
		require.NoError(t, err)
		assert.Equal(t, tx.StateRolledBack, res.State)
		assert.Len(t, res.RollbackOperations, 3)
		assert.Equal(t, before, dump(t, s))
	})
}
