package journal

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/internal/tx"
)

// A transaction still open in this boot is live: Incomplete leaves it out and Resolve
// refuses it; the next Open of the file sees it as left by a crash.
func TestJournal_IncompleteSkipsThisBoot(t *testing.T) {
	path := journalPath(t)
	j, err := Open(path, Options{})
	require.NoError(t, err)
	assert.Equal(t, uint64(1), j.Boot())
	m := newManager(t, j, &compensator{}, discard)
	live, err := m.Begin("writer", 1, "op-1")
	require.NoError(t, err)
	apply(t, live, "a")

	open, err := j.Incomplete()
	require.NoError(t, err)
	assert.Empty(t, open, "a live transaction is not the recovery's business")
	err = j.Resolve(tx.Result{ID: live.ID(), State: tx.StateRolledBack})
	require.ErrorIs(t, err, ErrLive)
	rec, err := j.Get(live.ID())
	require.NoError(t, err)
	assert.Equal(t, tx.StateActive, rec.Snapshot.State, "Resolve changed nothing")
	assert.Equal(t, uint64(1), rec.Boot)
	assert.Equal(t, "op-1", rec.Snapshot.OperationID)
	require.NoError(t, j.Close()) // the process "dies" with it open

	j2 := openJournal(t, path, Options{})
	assert.Equal(t, uint64(2), j2.Boot())
	open, err = j2.Incomplete()
	require.NoError(t, err)
	require.Len(t, open, 1)
	assert.Equal(t, live.ID(), open[0].ID)
	require.NoError(t, j2.Resolve(tx.Result{ID: live.ID(), State: tx.StateRolledBack}))
}

func TestJournal_ListByOperationID(t *testing.T) {
	j := openJournal(t, journalPath(t), Options{})
	m := newManager(t, j, &compensator{}, discard)
	ids := map[string][]string{}
	for _, c := range []struct{ op string }{{"op-a"}, {"op-b"}, {"op-a"}} {
		tr, err := m.Begin("writer", 1, c.op)
		require.NoError(t, err)
		apply(t, tr, "x")
		_, err = tr.Commit(t.Context())
		require.NoError(t, err)
		ids[c.op] = append(ids[c.op], tr.ID())
	}
	for _, c := range []struct {
		name, op string
		want     int
	}{{"two attempts", "op-a", 2}, {"one", "op-b", 1}, {"none", "op-c", 0}, {"any", "", 3}} {
		t.Run(c.name, func(t *testing.T) {
			recs, err := j.List(Filter{OperationID: c.op})
			require.NoError(t, err)
			require.Len(t, recs, c.want)
			for i, r := range recs {
				if c.op != "" {
					assert.Equal(t, ids[c.op][i], r.Snapshot.ID)
					assert.Equal(t, c.op, r.Snapshot.OperationID)
				}
			}
		})
	}
}

func TestReplayFailed(t *testing.T) {
	rec := Record{
		Snapshot: tx.Snapshot{ID: "t1", State: tx.StateFailed, Operations: []tx.Operation{
			{Seq: 1, Kind: tx.KindFSWrite, Target: "a", Compensation: &tx.Compensation{}},
			{Seq: 2, Kind: tx.KindFSWrite, Target: "b", Compensation: &tx.Compensation{}},
			{Seq: 3, Kind: tx.KindFSWrite, Target: "c", Compensation: &tx.Compensation{}},
		}},
		Rollback: []RollbackOp{
			{Seq: 3, Kind: tx.KindFSWrite, Target: "c", Outcome: tx.OutcomeCompensated},
			{Seq: 2, Kind: tx.KindFSWrite, Target: "b", Outcome: tx.OutcomeFailed, Error: "boom"},
			{Seq: 1, Kind: tx.KindFSWrite, Target: "a", Outcome: tx.OutcomeCompensated},
		},
	}
	for _, c := range []struct {
		name  string
		fail  map[string]error
		calls []string
		state tx.State
	}{
		{name: "succeeds", calls: []string{"b"}, state: tx.StateRolledBack},
		{name: "fails again", fail: map[string]error{"b": errBoom}, calls: []string{"b"}, state: tx.StateFailed},
	} {
		t.Run(c.name, func(t *testing.T) {
			comp := &compensator{fail: c.fail}
			res, err := ReplayFailed(t.Context(), rec, compensators(comp), 0)
			assert.Equal(t, c.calls, comp.calls(), "only the failed compensation runs")
			assert.Equal(t, c.state, res.State)
			assert.Equal(t, c.fail != nil, err != nil)
			require.Len(t, res.RollbackOperations, 3)
			for i, seq := range []int{3, 2, 1} {
				assert.Equal(t, seq, res.RollbackOperations[i].Seq)
			}
		})
	}
	t.Run("not failed", func(t *testing.T) {
		open := rec
		open.Snapshot.State = tx.StateActive
		comp := &compensator{}
		_, err := ReplayFailed(t.Context(), open, compensators(comp), 0)
		require.ErrorIs(t, err, ErrNotFailed)
		assert.Empty(t, comp.calls())
	})
}
