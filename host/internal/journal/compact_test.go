package journal

import (
	"context"
	"testing"
	"time"

	"github.com/onexhost/onex-host/host/internal/tx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// fill journals one transaction of each kind Compact distinguishes, and
// returns their IDs by name. The journal's Manager is abandoned afterwards,
// leaving "active" incomplete.
func fill(tb testing.TB, j *Journal) map[string]string {
	tb.Helper()
	ctx := context.Background()
	m := newManager(tb, j, &compensator{fail: map[string]error{"/fail": errBoom}}, discard)
	ids := map[string]string{}
	begin := func(name string, ops ...string) *tx.Tx {
		live, err := m.Begin(name, 1, "")
		require.NoError(tb, err)
		apply(tb, live, ops...)
		ids[name] = live.ID()
		return live
	}

	_, err := begin("published", "/a").Commit(ctx)
	require.NoError(tb, err)
	unpublished := begin("unpublished", "/a")
	require.NoError(tb, unpublished.Hold(event("k")))
	_, err = unpublished.Commit(ctx)
	require.NoError(tb, err)
	marked := begin("marked", "/a")
	require.NoError(tb, marked.Hold(event("k")))
	_, err = marked.Commit(ctx)
	require.NoError(tb, err)
	require.NoError(tb, j.MarkPublished(marked.ID()))
	_, err = begin("rolled_back", "/a").Rollback(ctx)
	require.NoError(tb, err)
	_, err = begin("failed", "/fail").Rollback(ctx)
	require.ErrorIs(tb, err, errBoom)
	begin("active", "/a")
	return ids
}

// remaining returns the nodes of the records left in j.
func remaining(tb testing.TB, j *Journal) []string {
	tb.Helper()
	recs, err := j.List(Filter{})
	require.NoError(tb, err)
	nodes := []string{}
	for _, r := range recs {
		nodes = append(nodes, r.Snapshot.Node)
	}
	return nodes
}

func TestJournal_Compact(t *testing.T) {
	kept := []string{"unpublished", "failed", "active"}
	tests := []struct {
		name      string
		elapsed   time.Duration
		olderThan time.Duration
		wantLeft  []string
	}{
		{name: "too young", elapsed: 30 * time.Minute, olderThan: time.Hour, wantLeft: []string{"published", "unpublished", "marked", "rolled_back", "failed", "active"}},
		{name: "old enough", elapsed: 2 * time.Hour, olderThan: time.Hour, wantLeft: kept},
		{name: "exactly as old", elapsed: time.Hour, olderThan: time.Hour, wantLeft: kept},
		{name: "zero means any age", olderThan: 0, wantLeft: kept},
		{name: "negative means any age", olderThan: -time.Hour, wantLeft: kept},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			j := openJournal(t, journalPath(t), Options{Now: clk.Now})
			fill(t, j)
			clk.Add(tt.elapsed)
			n, err := j.Compact(tt.olderThan)
			require.NoError(t, err)
			assert.Equal(t, tt.wantLeft, remaining(t, j))
			assert.Equal(t, 6-len(tt.wantLeft), n)
		})
	}
}

// Compact deletes every key of a removed transaction, and keeps a failed one
// until it is resolved.
func TestJournal_Compact_resolved(t *testing.T) {
	j := openJournal(t, journalPath(t), Options{})
	ids := fill(t, j)
	_, err := j.Compact(0)
	require.NoError(t, err)
	require.NoError(t, j.Resolve(tx.Result{ID: ids["failed"], State: tx.StateRolledBack}))
	require.NoError(t, j.MarkPublished(ids["unpublished"]))
	n, err := j.Compact(0)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, []string{"active"}, remaining(t, j))

	require.NoError(t, j.view(func(b *bolt.Tx) error {
		assert.Equal(t, 1, b.Bucket(bucketTx).Stats().KeyN)
		assert.Equal(t, 1, b.Bucket(bucketOp).Stats().KeyN, "only the active transaction's operation is left")
		assert.Zero(t, b.Bucket(bucketOutbox).Stats().KeyN)
		return nil
	}))
}

// Open compacts records older than Options.Retention.
func TestOpen_retention(t *testing.T) {
	kept := []string{"unpublished", "failed", "active"}
	all := []string{"published", "unpublished", "marked", "rolled_back", "failed", "active"}
	tests := []struct {
		name      string
		elapsed   time.Duration
		retention time.Duration
		want      []string
	}{
		{name: "default, younger", elapsed: 23 * time.Hour, want: all},
		{name: "default, older", elapsed: 25 * time.Hour, want: kept},
		{name: "set", elapsed: 2 * time.Hour, retention: time.Hour, want: kept},
		{name: "off", elapsed: 1000 * time.Hour, retention: -1, want: all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			path := journalPath(t)
			j, err := Open(path, Options{Now: clk.Now})
			require.NoError(t, err)
			fill(t, j)
			require.NoError(t, j.Close())

			clk.Add(tt.elapsed)
			j = openJournal(t, path, Options{Now: clk.Now, Retention: tt.retention})
			assert.Equal(t, tt.want, remaining(t, j))
		})
	}
}
