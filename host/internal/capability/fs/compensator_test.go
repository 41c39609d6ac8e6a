package fs_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/internal/capability/fs"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// step is one call of an effect attempt.
type step func(rs *fs.Roots, t *tx.Tx) error

// rollbackCases are attempts of at least three mutating steps each.
var rollbackCases = []struct {
	name  string
	steps []step
}{
	{name: "write", steps: []step{
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Write(t, "old.txt", []byte("replaced"), 0o755) },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Write(t, "new.txt", []byte("created"), 0) },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Write(t, "sub/inner.txt", nil, 0) },
	}},
	{name: "write one file three times", steps: []step{
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Write(t, "new.txt", []byte("1"), 0) },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Write(t, "new.txt", []byte("22"), 0o600) },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Write(t, "new.txt", []byte("333"), 0) },
	}},
	{name: "delete", steps: []step{
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Delete(t, "old.txt") },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Delete(t, "emptydir") },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Delete(t, "sub/inner.txt") },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Delete(t, "sub") },
	}},
	{name: "move", steps: []step{
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Move(t, "old.txt", "moved.txt") },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Move(t, "other.txt", "keep.txt") },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Move(t, "sub", "sub2") },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Move(t, "moved.txt", "sub2/inner.txt") },
	}},
	{name: "copy", steps: []step{
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Copy(t, "keep.txt", "copy.txt") },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Copy(t, "old.txt", "other.txt") },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Copy(t, "sub/inner.txt", "emptydir/inner.txt") },
	}},
	{name: "mkdir", steps: []step{
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Mkdir(t, "a", false) },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Mkdir(t, "b/c/d", true) },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Mkdir(t, "sub/x", false) },
	}},
	{name: "mixed, each step relying on the one before", steps: []step{
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Mkdir(t, "n/m", true) },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Write(t, "n/m/f", []byte("f"), 0) },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Move(t, "n/m/f", "keep.txt") },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Copy(t, "keep.txt", "n/g") },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Delete(t, "other.txt") },
		func(rs *fs.Roots, t *tx.Tx) error { return rs.Move(t, "emptydir", "n/m/e") },
	}},
}

// rollbackTree makes the tree every rollback case starts from, with
// assorted permission bits, and returns the granted directory.
func rollbackTree(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	mkdirs(t, dir, "sub", "emptydir")
	writeFile(t, dir, "keep.txt", "keep")
	writeFile(t, dir, "old.txt", "old content")
	writeFile(t, dir, "other.txt", "other")
	writeFile(t, dir, "sub/inner.txt", "inner")
	require.NoError(t, os.Chmod(filepath.Join(dir, "old.txt"), 0o600))
	require.NoError(t, os.Chmod(filepath.Join(dir, "sub/inner.txt"), 0o640))
	require.NoError(t, os.Chmod(filepath.Join(dir, "emptydir"), 0o750))
	return dir
}

// twice compensates every operation two times in a row.
var twice = tx.CompensatorFunc(func(ctx context.Context, op tx.Operation) error {
	if err := (fs.Compensator{}).Compensate(ctx, op); err != nil {
		return err
	}
	return fs.Compensator{}.Compensate(ctx, op)
})

func TestCompensator_rollback(t *testing.T) {
	for _, tc := range rollbackCases {
		for _, double := range []bool{false, true} {
			name := tc.name
			if double {
				name += ", each compensation twice"
			}
			t.Run(name, func(t *testing.T) { testRollback(t, tc.steps, double) })
		}
	}
}

func testRollback(t *testing.T, steps []step, double bool) {
	ctx := context.Background()
	dir := rollbackTree(t)
	rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: dir}}})
	rec := &recorder{}
	cfg := tx.Config{Compensators: fs.Compensators(), Observer: rec}
	if double {
		for kind := range cfg.Compensators {
			cfg.Compensators[kind] = twice
		}
	}
	m, err := tx.New(cfg)
	require.NoError(t, err)
	before := snapshot(t, dir)

	tr := begin(t, m)
	for i, s := range steps {
		require.NoError(t, s(rs, tr), "step %d", i)
	}
	require.NotEqual(t, before, snapshot(t, dir), "the steps changed something")
	res, err := tr.Rollback(ctx) // the attempt's next step failed
	require.NoError(t, err)
	assert.Equal(t, tx.StateRolledBack, res.State)
	assert.GreaterOrEqual(t, res.SideEffectsApplied, 3)
	assert.Equal(t, before, snapshot(t, dir), "tree restored")

	// Compensating again, from operations that went through JSON as
	// a journal would store them, changes nothing.
	ops := rec.recorded()
	slices.Reverse(ops)
	for _, op := range ops {
		b, err := json.Marshal(op)
		require.NoError(t, err)
		var replayed tx.Operation
		require.NoError(t, json.Unmarshal(b, &replayed))
		require.NoError(t, fs.Compensator{}.Compensate(ctx, replayed), "op %d %s", op.Seq, op.Kind)
	}
	assert.Equal(t, before, snapshot(t, dir), "tree unchanged by a second compensation")
}

// Operations that were logged but never performed (the journal refused
// them) are compensated harmlessly.
func TestCompensator_neverRan(t *testing.T) {
	ctx := context.Background()
	for _, tc := range rollbackCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := rollbackTree(t)
			rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: dir}}})
			rec := &recorder{refuse: true}
			m := newManager(t, rec)
			before := snapshot(t, dir)

			tr := begin(t, m)
			for i, s := range tc.steps {
				require.Error(t, s(rs, tr), "step %d", i) // refused by the observer, or for lack of an earlier step
			}
			require.NotEmpty(t, rec.recorded())
			assert.Equal(t, before, snapshot(t, dir), "nothing performed")
			res, err := tr.Rollback(ctx)
			require.NoError(t, err)
			assert.Equal(t, tx.StateRolledBack, res.State)
			assert.Equal(t, before, snapshot(t, dir), "compensations changed nothing")
			for _, op := range rec.recorded() {
				require.NoError(t, fs.Compensator{}.Compensate(ctx, op))
			}
			assert.Equal(t, before, snapshot(t, dir))
		})
	}
}

func TestCompensator_Compensate_invalid(t *testing.T) {
	dir := t.TempDir()
	service := "fs:" + dir
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		op      tx.Operation
		wantErr error
	}{
		{name: "unknown kind", op: tx.Operation{Kind: "kv.put", Service: service, Target: dir + "/x", Compensation: &tx.Compensation{}}, wantErr: fs.ErrInvalidPath},
		{name: "not an fs service", op: tx.Operation{Kind: tx.KindFSWrite, Service: "kv:x", Target: dir + "/x", Compensation: &tx.Compensation{}}, wantErr: fs.ErrInvalidPath},
		{name: "no compensation", op: tx.Operation{Kind: tx.KindFSWrite, Service: service, Target: dir + "/x", Irreversible: true}, wantErr: fs.ErrInvalidPath},
		{name: "target outside the service", op: tx.Operation{Kind: tx.KindFSWrite, Service: service, Target: "/etc/passwd", Compensation: &tx.Compensation{}}, wantErr: fs.ErrInvalidPath},
		{name: "relative target", op: tx.Operation{Kind: tx.KindFSWrite, Service: service, Target: "x", Compensation: &tx.Compensation{}}, wantErr: fs.ErrInvalidPath},
		{name: "target escaping by dot-dot", op: tx.Operation{Kind: tx.KindFSWrite, Service: service, Target: dir + "/../x", Compensation: &tx.Compensation{Existed: true}}, wantErr: fs.ErrEscape},
		{name: "move source outside", op: tx.Operation{Kind: tx.KindFSMove, Service: service, Target: dir + "/x", From: "/tmp/x", Compensation: &tx.Compensation{}}, wantErr: fs.ErrInvalidPath},
		{name: "cancelled context", ctx: cancelled, op: tx.Operation{Kind: tx.KindFSWrite, Service: service, Target: dir + "/x", Compensation: &tx.Compensation{}}, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			require.ErrorIs(t, fs.Compensator{}.Compensate(ctx, tt.op), tt.wantErr)
			assert.Empty(t, snapshot(t, dir)[".."])
		})
	}
}

// mkdir's compensation leaves a directory that is no longer empty, and
// says so.
func TestCompensator_Compensate_mkdirNotEmpty(t *testing.T) {
	dir := t.TempDir()
	rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: dir}}})
	tr := begin(t, newManager(t, nil))
	require.NoError(t, rs.Mkdir(tr, "d", false))
	writeFile(t, dir, "d/foreign", "not the transaction's") // written by someone else
	res, err := tr.Rollback(context.Background())
	require.ErrorIs(t, err, fs.ErrNotEmpty)
	assert.Equal(t, tx.StateFailed, res.State)
	assert.FileExists(t, filepath.Join(dir, "d", "foreign"))
}

func TestRoots_undoLimit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "big", "0123456789")
	writeFile(t, dir, "small", "s")

	t.Run("refused", func(t *testing.T) {
		rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: dir}}, MaxUndoBytes: 4})
		rec := &recorder{}
		tr := begin(t, newManager(t, rec))
		before := snapshot(t, dir)
		require.ErrorIs(t, rs.Write(tr, "big", []byte("x"), 0), fs.ErrTooLarge)
		require.ErrorIs(t, rs.Delete(tr, "big"), fs.ErrTooLarge)
		require.ErrorIs(t, rs.Move(tr, "small", "big"), fs.ErrTooLarge)
		require.ErrorIs(t, rs.Copy(tr, "small", "big"), fs.ErrTooLarge)
		assert.Empty(t, rec.recorded())
		assert.Equal(t, before, snapshot(t, dir))
		require.NoError(t, rs.Write(tr, "small", []byte("ok"), 0), "a small before-image is fine")
		require.NoError(t, rs.Write(nil, "big", []byte("9876543210"), 0), "no transaction, no before-image")
	})
	t.Run("irreversible", func(t *testing.T) {
		rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: dir}}, MaxUndoBytes: 4, AllowIrreversible: true})
		rec := &recorder{}
		tr := begin(t, newManager(t, rec))
		require.NoError(t, rs.Write(tr, "big", []byte("new"), 0))
		ops := rec.recorded()
		require.Len(t, ops, 1)
		assert.True(t, ops[0].Irreversible)
		res, err := tr.Rollback(ctx)
		require.NoError(t, err)
		require.Len(t, res.RollbackOperations, 1)
		assert.Equal(t, tx.OutcomeIrreversible, res.RollbackOperations[0].Outcome)
		got, err := rs.Read("big", 0)
		require.NoError(t, err)
		assert.Equal(t, "new", string(got), "left as it is")
	})
}
