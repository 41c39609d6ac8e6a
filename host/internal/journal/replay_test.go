package journal

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/onexhost/onex-host/host/internal/tx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReplay(t *testing.T) {
	irreversible := tx.Operation{Seq: 2, Kind: tx.KindHTTPRequest, Target: "https://x", Irreversible: true}
	ops := func(targets ...string) []tx.Operation {
		out := make([]tx.Operation, len(targets))
		for i, target := range targets {
			out[i] = write(target)
			out[i].Seq = i + 1
		}
		return out
	}
	tests := []struct {
		name       string
		snap       tx.Snapshot
		fail       map[string]error
		ctx        func() context.Context
		wantCalls  []string
		wantState  tx.State
		wantOut    []tx.Outcome
		wantErrs   []error // causes, newest operation first
		wantErrIs  error
		noCompFor  string
		panicOn    string
		slowTarget string
	}{
		{
			name:      "newest first",
			snap:      tx.Snapshot{ID: "t1", State: tx.StateActive, Operations: ops("/a", "/b", "/c")},
			wantCalls: []string{"/c", "/b", "/a"},
			wantState: tx.StateRolledBack,
			wantOut:   []tx.Outcome{tx.OutcomeCompensated, tx.OutcomeCompensated, tx.OutcomeCompensated},
		},
		{
			name: "out of order snapshot sorted by seq",
			snap: tx.Snapshot{ID: "t1", State: tx.StateActive, Operations: func() []tx.Operation {
				o := ops("/a", "/b", "/c")
				return []tx.Operation{o[2], o[0], o[1]}
			}()},
			wantCalls: []string{"/c", "/b", "/a"},
			wantState: tx.StateRolledBack,
			wantOut:   []tx.Outcome{tx.OutcomeCompensated, tx.OutcomeCompensated, tx.OutcomeCompensated},
		},
		{
			name:      "every one tried when some fail",
			snap:      tx.Snapshot{ID: "t1", State: tx.StateActive, Operations: ops("/a", "/b", "/c")},
			fail:      map[string]error{"/c": errBoom, "/a": context.Canceled},
			wantCalls: []string{"/c", "/b", "/a"},
			wantState: tx.StateFailed,
			wantOut:   []tx.Outcome{tx.OutcomeFailed, tx.OutcomeCompensated, tx.OutcomeFailed},
			wantErrIs: errBoom,
		},
		{
			name: "irreversible listed, not called",
			snap: tx.Snapshot{ID: "t1", State: tx.StatePending, Operations: func() []tx.Operation {
				o := ops("/a", "", "/c")
				o[1] = irreversible
				return o
			}()},
			wantCalls: []string{"/c", "/a"},
			wantState: tx.StateRolledBack,
			wantOut:   []tx.Outcome{tx.OutcomeCompensated, tx.OutcomeIrreversible, tx.OutcomeCompensated},
		},
		{
			name:      "missing compensator",
			snap:      tx.Snapshot{ID: "t1", State: tx.StateActive, Operations: ops("/a", "/b")},
			noCompFor: "/b",
			wantCalls: []string{"/a"},
			wantState: tx.StateFailed,
			wantOut:   []tx.Outcome{tx.OutcomeFailed, tx.OutcomeCompensated},
			wantErrIs: tx.ErrNoCompensator,
		},
		{
			name:      "panic recovered",
			snap:      tx.Snapshot{ID: "t1", State: tx.StateActive, Operations: ops("/a", "/b")},
			panicOn:   "/b",
			wantCalls: []string{"/a"},
			wantState: tx.StateFailed,
			wantOut:   []tx.Outcome{tx.OutcomeFailed, tx.OutcomeCompensated},
		},
		{
			name: "invalid operation",
			snap: tx.Snapshot{ID: "t1", State: tx.StateActive, Operations: func() []tx.Operation {
				o := ops("/a", "/b")
				o[1].Compensation = nil
				return o
			}()},
			wantCalls: []string{"/a"},
			wantState: tx.StateFailed,
			wantOut:   []tx.Outcome{tx.OutcomeFailed, tx.OutcomeCompensated},
			wantErrIs: tx.ErrInvalidOperation,
		},
		{
			name: "caller's cancellation ignored",
			snap: tx.Snapshot{ID: "t1", State: tx.StateFailed, Operations: ops("/a", "/b")},
			ctx: func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			wantCalls: []string{"/b", "/a"},
			wantState: tx.StateRolledBack,
			wantOut:   []tx.Outcome{tx.OutcomeCompensated, tx.OutcomeCompensated},
		},
		{
			name:       "deadline stops the rest",
			snap:       tx.Snapshot{ID: "t1", State: tx.StateActive, Operations: ops("/a", "/b", "/c")},
			slowTarget: "/c",
			wantCalls:  []string{"/c"},
			wantState:  tx.StateFailed,
			wantOut:    []tx.Outcome{tx.OutcomeFailed, tx.OutcomeFailed, tx.OutcomeFailed},
			wantErrIs:  context.DeadlineExceeded,
		},
		{
			name:      "empty",
			snap:      tx.Snapshot{ID: "t1", State: tx.StateActive, Operations: []tx.Operation{}},
			wantState: tx.StateRolledBack,
			wantOut:   []tx.Outcome{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			comp := &compensator{fail: tt.fail}
			var c tx.Compensator = comp
			if tt.panicOn != "" || tt.noCompFor != "" || tt.slowTarget != "" {
				c = tx.CompensatorFunc(func(ctx context.Context, op tx.Operation) error {
					switch op.Target {
					case tt.panicOn:
						panic("oops")
					case tt.noCompFor:
						t.Fatal("called for a kind without compensator")
					case tt.slowTarget:
						_ = comp.Compensate(ctx, op)
						<-ctx.Done()
						return ctx.Err()
					}
					return comp.Compensate(ctx, op)
				})
			}
			comps := compensators(c)
			if tt.noCompFor != "" {
				for i := range tt.snap.Operations {
					if tt.snap.Operations[i].Target == tt.noCompFor {
						tt.snap.Operations[i].Kind = "unregistered"
					}
				}
			}
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			timeout := time.Duration(0)
			if tt.slowTarget != "" {
				timeout = 20 * time.Millisecond
			}

			res, err := Replay(ctx, tt.snap, comps, timeout)
			assert.Equal(t, tt.wantCalls, comp.calls())
			assert.Equal(t, "t1", res.ID)
			assert.Equal(t, tt.wantState, res.State)
			assert.Equal(t, len(tt.snap.Operations), res.SideEffectsApplied)
			outcomes := []tx.Outcome{}
			failed := 0
			for i, r := range res.RollbackOperations {
				outcomes = append(outcomes, r.Outcome)
				if i > 0 {
					assert.Less(t, r.Seq, res.RollbackOperations[i-1].Seq, "newest first")
				}
				if r.Outcome == tx.OutcomeFailed {
					failed++
					var ce *tx.CompensationError
					require.ErrorAs(t, r.Err, &ce)
					assert.Equal(t, r.Seq, ce.Seq)
					assert.Equal(t, "t1", ce.TxID)
				}
			}
			assert.Equal(t, tt.wantOut, outcomes)
			if failed == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), failed, "one joined error per failure")
			if tt.wantErrIs != nil {
				assert.ErrorIs(t, err, tt.wantErrIs)
			}
			if tt.panicOn != "" {
				var pe *tx.PanicError
				assert.ErrorAs(t, err, &pe)
			}
		})
	}
}

func TestReplay_committed(t *testing.T) {
	comp := &compensator{}
	snap := tx.Snapshot{ID: "t1", State: tx.StateCommitted, Operations: []tx.Operation{write("/a")}}
	res, err := Replay(context.Background(), snap, compensators(comp), 0)
	require.ErrorIs(t, err, tx.ErrCommitted)
	assert.Empty(t, comp.calls())
	assert.Equal(t, tx.StateCommitted, res.State)
	assert.False(t, errors.Is(err, errBoom))
}
