package tx

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTx_Rollback(t *testing.T) {
	t.Run("a failing step after three operations compensates them newest first", func(t *testing.T) {
		j := &journal{}
		m := newTestManager(t, j, Config{})
		tx := begin(t, m)
		for _, target := range []string{"a", "b", "c"} {
			require.NoError(t, tx.Apply(write(target), func() error { return nil }))
		}
		fourth := func() error { return errBoom } // a step that fails before touching anything

		require.ErrorIs(t, fourth(), errBoom)
		res, err := tx.Rollback(t.Context())
		require.NoError(t, err)
		assert.Equal(t, []string{"c", "b", "a"}, j.calls())
		assert.Equal(t, StateRolledBack, res.State)
		assert.Equal(t, StateRolledBack, tx.State())
		assert.Equal(t, 3, res.SideEffectsApplied)
		require.Len(t, res.RollbackOperations, 3)
		for i, op := range res.RollbackOperations {
			assert.Equal(t, 3-i, op.Seq)
			assert.Equal(t, OutcomeCompensated, op.Outcome)
			assert.NoError(t, op.Err)
		}
		assert.Equal(t, Stats{Begun: 1, RolledBack: 1}, m.Stats())
	})

	t.Run("an operation whose Apply failed is compensated too", func(t *testing.T) {
		j := &journal{}
		m := newTestManager(t, j, Config{})
		tx := begin(t, m)
		require.NoError(t, tx.Apply(write("a"), func() error { return nil }))
		require.ErrorIs(t, tx.Apply(write("b"), func() error { return errBoom }), errBoom)
		res, err := tx.Rollback(t.Context())
		require.NoError(t, err)
		// "b" may have been written in part; its compensation restores it.
		assert.Equal(t, []string{"b", "a"}, j.calls())
		assert.Equal(t, 2, res.SideEffectsApplied)
	})

	t.Run("a failing compensation does not stop the others", func(t *testing.T) {
		errB, errD := errors.New("b stuck"), errors.New("d gone")
		j := &journal{fail: map[string]error{"b": errB, "d": errD}}
		m := newTestManager(t, j, Config{})
		tx := begin(t, m)
		for _, target := range []string{"a", "b", "c", "d", "e"} {
			require.NoError(t, tx.Record(write(target)))
		}

		res, err := tx.Rollback(t.Context())
		require.Error(t, err)
		assert.Equal(t, []string{"e", "d", "c", "b", "a"}, j.calls(), "every compensation ran")
		assert.ErrorIs(t, err, errB)
		assert.ErrorIs(t, err, errD)
		var ce *CompensationError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, tx.ID(), ce.TxID)
		assert.Equal(t, KindFSWrite, ce.Kind)
		assert.Contains(t, []int{2, 4}, ce.Seq)
		assert.Equal(t, StateFailed, res.State)
		assert.Equal(t, StateFailed, tx.State())

		outcomes := map[int]Outcome{}
		for _, op := range res.RollbackOperations {
			outcomes[op.Seq] = op.Outcome
			if op.Outcome == OutcomeFailed {
				assert.ErrorAs(t, op.Err, &ce)
			}
		}
		assert.Equal(t, map[int]Outcome{1: OutcomeCompensated, 2: OutcomeFailed, 3: OutcomeCompensated, 4: OutcomeFailed, 5: OutcomeCompensated}, outcomes)
		assert.Equal(t, Stats{Begun: 1, Failed: 1}, m.Stats())
	})

	t.Run("a panicking compensator is reported and the others run", func(t *testing.T) {
		j := &journal{}
		var panicky CompensatorFunc = func(context.Context, Operation) error { panic(errBoom) }
		m, err := New(Config{Compensators: map[string]Compensator{KindFSWrite: j, KindKVPut: panicky}})
		require.NoError(t, err)
		tx := begin(t, m)
		require.NoError(t, tx.Record(write("a")))
		require.NoError(t, tx.Record(Operation{Kind: KindKVPut, Target: "k", Compensation: &Compensation{}}))
		require.NoError(t, tx.Record(write("c")))

		res, err := tx.Rollback(t.Context())
		var pe *PanicError
		require.ErrorAs(t, err, &pe)
		assert.ErrorIs(t, err, errBoom)
		assert.Equal(t, []string{"c", "a"}, j.calls())
		assert.Equal(t, StateFailed, res.State)
	})

	t.Run("irreversible operations are listed, not compensated", func(t *testing.T) {
		j := &journal{}
		m := newTestManager(t, j, Config{})
		tx := begin(t, m)
		require.NoError(t, tx.Record(write("a")))
		require.NoError(t, tx.Record(Operation{Kind: KindHTTPRequest, Target: "https://example.test/pay", Irreversible: true}))

		res, err := tx.Rollback(t.Context())
		require.NoError(t, err)
		assert.Equal(t, []string{"a"}, j.calls())
		assert.Equal(t, StateRolledBack, res.State)
		assert.Equal(t, []RollbackOp{
			{Seq: 2, Kind: KindHTTPRequest, Target: "https://example.test/pay", Outcome: OutcomeIrreversible},
			{Seq: 1, Kind: KindFSWrite, Service: "fs:/srv", Target: "a", Outcome: OutcomeCompensated},
		}, res.RollbackOperations)
	})

	t.Run("a cancelled caller context still compensates", func(t *testing.T) {
		type key struct{}
		var sawValue, sawCancel atomic.Int32
		var c CompensatorFunc = func(ctx context.Context, _ Operation) error {
			if ctx.Value(key{}) == "v" {
				sawValue.Add(1)
			}
			if ctx.Err() != nil {
				sawCancel.Add(1)
			}
			return ctx.Err()
		}
		m := newTestManager(t, c, Config{})
		tx := begin(t, m)
		require.NoError(t, tx.Record(write("a")))
		require.NoError(t, tx.Record(write("b")))
		ctx, cancel := context.WithCancel(context.WithValue(t.Context(), key{}, "v"))
		cancel()

		res, err := tx.Rollback(ctx)
		require.NoError(t, err)
		assert.Equal(t, StateRolledBack, res.State)
		assert.EqualValues(t, 2, sawValue.Load(), "the caller's values are kept")
		assert.Zero(t, sawCancel.Load())
	})

	t.Run("the rollback deadline bounds the compensations", func(t *testing.T) {
		tests := []struct {
			name    string
			timeout time.Duration
			want    time.Duration
		}{
			{name: "default", want: DefaultFinishTimeout},
			{name: "configured", timeout: 2 * time.Second, want: 2 * time.Second},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					j := &journal{}
					var blocking CompensatorFunc = func(ctx context.Context, op Operation) error {
						<-ctx.Done() // a compensation that hangs until its deadline
						return ctx.Err()
					}
					m, err := New(Config{
						Compensators:  map[string]Compensator{KindFSWrite: j, KindKVPut: blocking},
						FinishTimeout: tt.timeout,
					})
					require.NoError(t, err)
					tx := begin(t, m)
					require.NoError(t, tx.Record(write("a")))
					require.NoError(t, tx.Record(Operation{Kind: KindKVPut, Target: "k", Compensation: &Compensation{}}))

					start := time.Now()
					res, err := tx.Rollback(context.Background())
					assert.Equal(t, tt.want, time.Since(start))
					require.ErrorIs(t, err, context.DeadlineExceeded)
					assert.Empty(t, j.calls(), "no compensation is started after the deadline")
					assert.Equal(t, StateFailed, res.State)
					require.Len(t, res.RollbackOperations, 2)
					assert.Equal(t, OutcomeFailed, res.RollbackOperations[0].Outcome)
					assert.Equal(t, OutcomeFailed, res.RollbackOperations[1].Outcome)
					assert.ErrorIs(t, res.RollbackOperations[1].Err, context.DeadlineExceeded)
				})
			})
		}
	})

	t.Run("a second rollback does nothing and returns the first outcome", func(t *testing.T) {
		j := &journal{fail: map[string]error{"a": errBoom}}
		m := newTestManager(t, j, Config{})
		tx := begin(t, m)
		require.NoError(t, tx.Record(write("a")))
		res1, err1 := tx.Rollback(t.Context())
		require.ErrorIs(t, err1, errBoom)
		res2, err2 := tx.Rollback(t.Context())
		assert.Equal(t, res1, res2)
		assert.Equal(t, err1, err2)
		assert.Equal(t, []string{"a"}, j.calls())
		assert.Equal(t, Stats{Begun: 1, Failed: 1}, m.Stats())
	})

	t.Run("rollback of a pending transaction", func(t *testing.T) {
		m := newTestManager(t, &journal{}, Config{})
		tx := begin(t, m)
		res, err := tx.Rollback(t.Context())
		require.NoError(t, err)
		assert.Equal(t, Result{ID: tx.ID(), State: StateRolledBack, RollbackOperations: []RollbackOp{}}, res)
	})

	t.Run("rollback after commit is an error and changes nothing", func(t *testing.T) {
		j := &journal{}
		m := newTestManager(t, j, Config{})
		tx := begin(t, m)
		require.NoError(t, tx.Record(write("a")))
		_, err := tx.Commit(t.Context())
		require.NoError(t, err)
		res, err := tx.Rollback(t.Context())
		require.ErrorIs(t, err, ErrCommitted)
		assert.Equal(t, StateCommitted, res.State)
		assert.Empty(t, j.calls())
		assert.Equal(t, Stats{Begun: 1, Committed: 1}, m.Stats())
	})

	t.Run("waits for an Apply in progress and refuses later ones", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			j := &journal{}
			m := newTestManager(t, j, Config{})
			tx := begin(t, m)
			release := make(chan struct{})
			var performed atomic.Bool
			go func() {
				assert.NoError(t, tx.Apply(write("slow"), func() error {
					<-release
					performed.Store(true)
					return nil
				}))
			}()
			synctest.Wait()

			done := make(chan Result)
			go func() {
				res, err := tx.Rollback(context.Background())
				assert.NoError(t, err)
				done <- res
			}()
			synctest.Wait()
			assert.Empty(t, j.calls(), "compensated while the operation was running")
			err := tx.Apply(write("late"), func() error { panic("must not run") })
			require.ErrorIs(t, err, ErrRolledBack)
			_, err = tx.Commit(context.Background())
			require.ErrorIs(t, err, ErrRolledBack)

			close(release)
			res := <-done
			assert.True(t, performed.Load())
			assert.Equal(t, []string{"slow"}, j.calls())
			assert.Equal(t, StateRolledBack, res.State)
			assert.Equal(t, 1, res.SideEffectsApplied)
		})
	})

	t.Run("an Apply still running at the deadline is reported, not compensated", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			j := &journal{}
			m := newTestManager(t, j, Config{FinishTimeout: time.Second})
			tx := begin(t, m)
			require.NoError(t, tx.Record(write("a")))
			release := make(chan struct{})
			go func() {
				assert.NoError(t, tx.Apply(write("stuck"), func() error { <-release; return nil }))
			}()
			synctest.Wait()

			res, err := tx.Rollback(context.Background())
			require.ErrorIs(t, err, ErrInProgress)
			assert.Empty(t, j.calls(), "compensations started after the deadline")
			require.Len(t, res.RollbackOperations, 2)
			assert.Equal(t, OutcomeFailed, res.RollbackOperations[0].Outcome)
			assert.ErrorIs(t, res.RollbackOperations[0].Err, ErrInProgress)
			assert.ErrorIs(t, res.RollbackOperations[1].Err, context.DeadlineExceeded)
			close(release)
			synctest.Wait()
		})
	})
}
