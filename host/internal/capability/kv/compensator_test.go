package kv

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/onexhost/onex-host/host/internal/tx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errJournal = errors.New("journal full")

// TestCompensator_Compensate records real operations with WithTx, then
// compensates them directly, newest first, as a rollback would: once from
// their JSON (as a journal replays them after a crash) and once more from
// the originals, which must change nothing.
func TestCompensator_Compensate(t *testing.T) {
	tests := []struct {
		name   string
		before map[string]string
		do     func(ctx context.Context, s Store) error
		during map[string]string // the state after do, when it ran
	}{
		{
			name:   "put over existing value",
			before: map[string]string{"a": "old", "z": "1"},
			do:     func(ctx context.Context, s Store) error { return s.Put(ctx, "a", []byte("new")) },
			during: map[string]string{"a": "new", "z": "1"},
		},
		{
			name:   "put new key",
			before: map[string]string{"z": "1"},
			do:     func(ctx context.Context, s Store) error { return s.Put(ctx, "a", []byte("new")) },
			during: map[string]string{"a": "new", "z": "1"},
		},
		{
			name:   "put over empty value",
			before: map[string]string{"a": ""},
			do:     func(ctx context.Context, s Store) error { return s.Put(ctx, "a", []byte("new")) },
			during: map[string]string{"a": "new"},
		},
		{
			name:   "delete",
			before: map[string]string{"a": "old", "z": "1"},
			do:     func(ctx context.Context, s Store) error { return errOf(s.Delete(ctx, "a")) },
			during: map[string]string{"z": "1"},
		},
		{
			name:   "delete empty value",
			before: map[string]string{"a": ""},
			do:     func(ctx context.Context, s Store) error { return errOf(s.Delete(ctx, "a")) },
			during: map[string]string{},
		},
		{
			name:   "put then delete the same key",
			before: map[string]string{"a": "old"},
			do: func(ctx context.Context, s Store) error {
				if err := s.Put(ctx, "a", []byte("new")); err != nil {
					return err
				}
				return errOf(s.Delete(ctx, "a"))
			},
			during: map[string]string{},
		},
	}
	forEachBackend(t, func(t *testing.T, open opener) {
		for _, tt := range tests {
			for _, ran := range []bool{true, false} {
				name := tt.name
				if !ran {
					name += ", never ran"
				}
				t.Run(name, func(t *testing.T) {
					ctx := t.Context()
					db := open(t, Config{})
					s, other := ns(t, db, "node"), ns(t, db, "other")
					put(t, s, tt.before)
					put(t, other, tt.before)
					rec := &recorder{}
					if !ran {
						// The journal refuses the operation: it is logged
						// but never performed.
						rec.fail = errJournal
					}
					err := tt.do(ctx, WithTx(s, begin(t, newManager(t, db, rec))))
					ops := rec.recorded()
					require.NotEmpty(t, ops)
					if ran {
						require.NoError(t, err)
						require.Equal(t, tt.during, dump(t, s))
					} else {
						require.ErrorIs(t, err, errJournal)
						require.Equal(t, tt.before, dump(t, s))
					}

					c := NewCompensator(db)
					for i := len(ops) - 1; i >= 0; i-- {
						data, err := json.Marshal(ops[i])
						require.NoError(t, err)
						var replayed tx.Operation
						require.NoError(t, json.Unmarshal(data, &replayed))
						require.NoError(t, c.Compensate(ctx, replayed))
					}
					assert.Equal(t, tt.before, dump(t, s), "compensated")

					for i := len(ops) - 1; i >= 0; i-- {
						require.NoError(t, c.Compensate(ctx, ops[i]))
					}
					assert.Equal(t, tt.before, dump(t, s), "compensated twice")
					assert.Equal(t, tt.before, dump(t, other), "another namespace")
				})
			}
		}
	})
}

// kvOp returns a put of key in namespace "node" whose key held prev.
func kvOp(key, prev string) tx.Operation {
	return tx.Operation{
		Kind:         tx.KindKVPut,
		Service:      "kv:node",
		Target:       key,
		Compensation: &tx.Compensation{Existed: true, Previous: []byte(prev)},
	}
}

func TestCompensator_Errors(t *testing.T) {
	with := func(f func(op *tx.Operation)) tx.Operation {
		op := kvOp("a", "restored")
		f(&op)
		return op
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		op      tx.Operation
		wantErr error
	}{
		{name: "other kind", op: with(func(op *tx.Operation) { op.Kind = tx.KindFSWrite }), wantErr: ErrBadOperation},
		{name: "other service", op: with(func(op *tx.Operation) { op.Service = "fs:node" }), wantErr: ErrBadOperation},
		{name: "no compensation", op: with(func(op *tx.Operation) { op.Compensation = nil }), wantErr: ErrBadOperation},
		{name: "empty namespace", op: with(func(op *tx.Operation) { op.Service = "kv:" }), wantErr: ErrInvalidNamespace},
		{name: "empty key", op: with(func(op *tx.Operation) { op.Target = "" }), wantErr: ErrInvalidKey},
		{name: "key not UTF-8", op: with(func(op *tx.Operation) { op.Target = "\xff" }), wantErr: ErrInvalidKey},
		{name: "cancelled context", ctx: cancelled, op: kvOp("a", "restored"), wantErr: context.Canceled},
	}
	forEachBackend(t, func(t *testing.T, open opener) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				db := open(t, Config{})
				s := ns(t, db, "node")
				put(t, s, map[string]string{"a": "now"})
				ctx := tt.ctx
				if ctx == nil {
					ctx = t.Context()
				}
				err := NewCompensator(db).Compensate(ctx, tt.op)
				require.ErrorIs(t, err, tt.wantErr)
				assert.Equal(t, map[string]string{"a": "now"}, dump(t, s))
			})
		}

		t.Run("closed DB", func(t *testing.T) {
			db := open(t, Config{})
			require.NoError(t, db.Close())
			assert.ErrorIs(t, NewCompensator(db).Compensate(t.Context(), kvOp("a", "x")), ErrClosed)
		})
	})
}

// A before-image is restored even when it is larger than the DB now allows.
func TestCompensator_IgnoresMaxValueSize(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		db := open(t, Config{MaxValueSize: 4})
		big := strings.Repeat("b", 10)
		require.NoError(t, NewCompensator(db).Compensate(t.Context(), kvOp("a", big)))
		assert.Equal(t, map[string]string{"a": big}, dump(t, ns(t, db, "node")))
	})
}
