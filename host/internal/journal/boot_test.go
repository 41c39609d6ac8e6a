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
