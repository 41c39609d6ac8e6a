package journal

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/onexhost/onex-host/host/internal/tx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A transaction abandoned mid-way (the host "crashed": the journal is closed
// without a commit or rollback) is found on reopening with its operations in
// order, replayed newest first from the journal alone, and resolved.
func TestJournal_Incomplete(t *testing.T) {
	path := journalPath(t)
	j, err := Open(path, Options{})
	require.NoError(t, err)
	m := newManager(t, j, &compensator{}, discard)
	live, err := m.Begin("file_writer", 2, "")
	require.NoError(t, err)
	apply(t, live, "/srv/a", "/srv/b", "/srv/c")
	require.NoError(t, live.Hold(event("lost")))
	require.NoError(t, j.Close()) // crash: the manager and live are abandoned

	j = openJournal(t, path, Options{})
	snaps, err := j.Incomplete()
	require.NoError(t, err)
	require.Len(t, snaps, 1)
	s := snaps[0]
	assert.Equal(t, live.ID(), s.ID)
	assert.Equal(t, "file_writer", s.Node)
	assert.Equal(t, 2, s.Attempt)
	assert.Equal(t, tx.StateActive, s.State)
	assert.False(t, s.BegunAt.IsZero())
	assert.Empty(t, s.Outbox, "events of an uncommitted transaction are discarded")
	require.Len(t, s.Operations, 3)
	assert.Equal(t, []string{"/srv/a", "/srv/b", "/srv/c"}, targets(s.Operations))
	for i, op := range s.Operations {
		assert.Equal(t, i+1, op.Seq)
		assert.Equal(t, tx.KindFSWrite, op.Kind)
		require.NotNil(t, op.Compensation)
		assert.Equal(t, []byte("old "+op.Target), op.Compensation.Previous)
		assert.True(t, op.Compensation.Existed)
		assert.Equal(t, uint32(0o644), op.Compensation.Mode)
	}

	comp := &compensator{}
	res, err := Replay(context.Background(), s, compensators(comp), 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"/srv/c", "/srv/b", "/srv/a"}, comp.calls())
	assert.Equal(t, tx.StateRolledBack, res.State)
	require.NoError(t, j.Resolve(res))

	snaps, err = j.Incomplete()
	require.NoError(t, err)
	assert.Empty(t, snaps)
	rec, err := j.Get(live.ID())
	require.NoError(t, err)
	assert.Equal(t, tx.StateRolledBack, rec.Snapshot.State)
	assert.True(t, rec.Recovered)
	assert.False(t, rec.Snapshot.EndedAt.IsZero())
	require.Len(t, rec.Rollback, 3)
	assert.Equal(t, 3, rec.Rollback[0].Seq)
	assert.Equal(t, tx.OutcomeCompensated, rec.Rollback[0].Outcome)
}

// Incomplete lists transactions newest first, skips ended ones, and still
// returns every intact record when one is corrupt.
func TestJournal_Incomplete_order(t *testing.T) {
	path := journalPath(t)
	j, err := Open(path, Options{})
	require.NoError(t, err)
	m := newManager(t, j, &compensator{}, nil)
	var ids []string
	for i := range 3 {
		live, err := m.Begin("writer", 1, "")
		require.NoError(t, err)
		apply(t, live, "/srv/x")
		if i == 1 {
			_, err := live.Commit(context.Background())
			require.NoError(t, err)
			continue
		}
		ids = append(ids, live.ID())
	}
	require.NoError(t, j.Close())

	j = openJournal(t, path, Options{})
	snaps, err := j.Incomplete()
	require.NoError(t, err)
	require.Len(t, snaps, 2)
	assert.Equal(t, []string{ids[1], ids[0]}, []string{snaps[0].ID, snaps[1].ID})
}

// A committed transaction whose events may not have gone out stays
// unpublished until MarkPublished.
func TestJournal_Unpublished(t *testing.T) {
	path := journalPath(t)
	j, err := Open(path, Options{})
	require.NoError(t, err)
	m := newManager(t, j, &compensator{}, discard)

	held, err := m.Begin("notifier", 1, "")
	require.NoError(t, err)
	apply(t, held, "/srv/a")
	require.NoError(t, held.Hold(event("first")))
	require.NoError(t, held.Hold(event("second")))
	_, err = held.Commit(context.Background())
	require.NoError(t, err)

	quiet, err := m.Begin("writer", 1, "") // committed with nothing to publish
	require.NoError(t, err)
	apply(t, quiet, "/srv/b")
	_, err = quiet.Commit(context.Background())
	require.NoError(t, err)

	eventsOnly, err := m.Begin("notifier", 1, "") // no operation, one event
	require.NoError(t, err)
	require.NoError(t, eventsOnly.Hold(event("third")))
	_, err = eventsOnly.Commit(context.Background())
	require.NoError(t, err)
	require.NoError(t, j.Close()) // crash before MarkPublished

	j = openJournal(t, path, Options{})
	snaps, err := j.Unpublished()
	require.NoError(t, err)
	require.Len(t, snaps, 2)
	assert.Equal(t, held.ID(), snaps[0].ID)
	assert.Equal(t, tx.StateCommitted, snaps[0].State)
	assert.False(t, snaps[0].EndedAt.IsZero())
	require.Len(t, snaps[0].Outbox, 2)
	assert.Equal(t, "first", snaps[0].Outbox[0].Key)
	assert.Equal(t, "env-second", snaps[0].Outbox[1].EnvelopeID)
	assert.Equal(t, []string{"/srv/a"}, targets(snaps[0].Operations))
	assert.Equal(t, eventsOnly.ID(), snaps[1].ID)
	assert.Empty(t, snaps[1].Operations)

	incomplete, err := j.Incomplete()
	require.NoError(t, err)
	assert.Empty(t, incomplete)

	require.NoError(t, j.MarkPublished(held.ID()))
	require.NoError(t, j.MarkPublished(held.ID()), "marking again does nothing")
	snaps, err = j.Unpublished()
	require.NoError(t, err)
	require.Len(t, snaps, 1)
	assert.Equal(t, eventsOnly.ID(), snaps[0].ID)

	rec, err := j.Get(held.ID())
	require.NoError(t, err)
	assert.True(t, rec.Published)
	assert.False(t, rec.PublishedAt.IsZero())
	rec, err = j.Get(quiet.ID())
	require.NoError(t, err)
	assert.True(t, rec.Published, "an empty outbox is published at commit")
}

func TestJournal_MarkPublished_errors(t *testing.T) {
	j := openJournal(t, journalPath(t), Options{})
	m := newManager(t, j, &compensator{}, nil)
	live, err := m.Begin("writer", 1, "")
	require.NoError(t, err)
	apply(t, live, "/srv/a")

	tests := []struct {
		name string
		id   string
		want error
	}{
		{name: "unknown", id: "no-such-id", want: ErrNotFound},
		{name: "active", id: live.ID(), want: ErrNotCommitted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.ErrorIs(t, j.MarkPublished(tt.id), tt.want)
		})
	}
}

// With the journal closed, OnRecord fails, so Apply never performs the
// operation, and the rollback's state change is logged, not lost silently.
func TestJournal_OnRecord_closed(t *testing.T) {
	var logs bytes.Buffer
	j, err := Open(journalPath(t), Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	m := newManager(t, j, &compensator{}, nil)
	live, err := m.Begin("writer", 1, "")
	require.NoError(t, err)
	apply(t, live, "/srv/a")
	require.NoError(t, j.Close())

	ran := false
	err = live.Apply(write("/srv/b"), func() error { ran = true; return nil })
	require.ErrorIs(t, err, ErrClosed)
	assert.False(t, ran, "the operation must not run when its intent was not journaled")

	_, err = live.Rollback(context.Background())
	require.NoError(t, err)
	assert.Contains(t, logs.String(), "journal: write state change")
	assert.Contains(t, logs.String(), live.ID())
}

// The transaction's own end is journaled.
func TestJournal_OnStateChange(t *testing.T) {
	tests := []struct {
		name      string
		ops       []string
		events    int
		commit    bool
		fail      map[string]error
		wantFound bool
		wantState tx.State
		wantError []string // Rollback[i].Error is non-empty
	}{
		{name: "committed", ops: []string{"/a"}, commit: true, wantFound: true, wantState: tx.StateCommitted},
		{name: "rolled back", ops: []string{"/a", "/b"}, wantFound: true, wantState: tx.StateRolledBack, wantError: []string{"", ""}},
		{name: "failed", ops: []string{"/a", "/b"}, fail: map[string]error{"/a": errBoom}, wantFound: true, wantState: tx.StateFailed, wantError: []string{"", "boom"}},
		{name: "rolled back without operations", events: 1},
		{name: "committed without anything", commit: true},
		{name: "committed with events only", events: 1, commit: true, wantFound: true, wantState: tx.StateCommitted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := openJournal(t, journalPath(t), Options{})
			m := newManager(t, j, &compensator{fail: tt.fail}, discard)
			live, err := m.Begin("writer", 1, "")
			require.NoError(t, err)
			apply(t, live, tt.ops...)
			for range tt.events {
				require.NoError(t, live.Hold(event("k")))
			}
			if tt.commit {
				_, err = live.Commit(context.Background())
			} else {
				_, err = live.Rollback(context.Background())
			}
			if tt.fail == nil {
				require.NoError(t, err)
			}

			rec, err := j.Get(live.ID())
			if !tt.wantFound {
				require.ErrorIs(t, err, ErrNotFound)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantState, rec.Snapshot.State)
			assert.False(t, rec.Recovered)
			assert.False(t, rec.Snapshot.EndedAt.IsZero())
			assert.Len(t, rec.Snapshot.Operations, len(tt.ops))
			require.Len(t, rec.Rollback, len(tt.wantError))
			for i, want := range tt.wantError {
				assert.Equal(t, len(tt.ops)-i, rec.Rollback[i].Seq)
				if want == "" {
					assert.Empty(t, rec.Rollback[i].Error)
					assert.Equal(t, tx.OutcomeCompensated, rec.Rollback[i].Outcome)
				} else {
					assert.Contains(t, rec.Rollback[i].Error, want)
					assert.Equal(t, tx.OutcomeFailed, rec.Rollback[i].Outcome)
				}
			}
		})
	}
}

func TestJournal_Resolve_errors(t *testing.T) {
	j := openJournal(t, journalPath(t), Options{})
	m := newManager(t, j, &compensator{}, nil)
	done, err := m.Begin("writer", 1, "")
	require.NoError(t, err)
	apply(t, done, "/srv/a")
	_, err = done.Commit(context.Background())
	require.NoError(t, err)

	tests := []struct {
		name string
		res  tx.Result
		want error
	}{
		{name: "no ID", res: tx.Result{State: tx.StateRolledBack}, want: ErrInvalidResult},
		{name: "not final", res: tx.Result{ID: done.ID(), State: tx.StateActive}, want: ErrInvalidResult},
		{name: "committed state", res: tx.Result{ID: done.ID(), State: tx.StateCommitted}, want: ErrInvalidResult},
		{name: "unknown", res: tx.Result{ID: "no-such-id", State: tx.StateRolledBack}, want: ErrNotFound},
		{name: "committed transaction", res: tx.Result{ID: done.ID(), State: tx.StateRolledBack}, want: tx.ErrCommitted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.ErrorIs(t, j.Resolve(tt.res), tt.want)
		})
	}
	rec, err := j.Get(done.ID())
	require.NoError(t, err)
	assert.Equal(t, tx.StateCommitted, rec.Snapshot.State, "nothing changed")
}

// A failed recovery stays failed, with each error, until a retry resolves
// it.
func TestJournal_Resolve_retry(t *testing.T) {
	path := journalPath(t)
	j, err := Open(path, Options{})
	require.NoError(t, err)
	m := newManager(t, j, &compensator{}, nil)
	live, err := m.Begin("writer", 1, "")
	require.NoError(t, err)
	apply(t, live, "/srv/a", "/srv/b")
	require.NoError(t, j.Close())

	j = openJournal(t, path, Options{})
	snaps, err := j.Incomplete()
	require.NoError(t, err)
	require.Len(t, snaps, 1)
	res, err := Replay(context.Background(), snaps[0], compensators(&compensator{fail: map[string]error{"/srv/b": errBoom}}), 0)
	require.ErrorIs(t, err, errBoom)
	require.NoError(t, j.Resolve(res))

	failed, err := j.List(Filter{States: []tx.State{tx.StateFailed}})
	require.NoError(t, err)
	require.Len(t, failed, 1)
	rec := failed[0]
	assert.True(t, rec.Recovered)
	require.Len(t, rec.Rollback, 2)
	assert.Equal(t, RollbackOp{Seq: 2, Kind: tx.KindFSWrite, Service: "fs:/srv", Target: "/srv/b", Outcome: tx.OutcomeFailed, Error: res.RollbackOperations[0].Err.Error()}, rec.Rollback[0])
	assert.Equal(t, tx.OutcomeCompensated, rec.Rollback[1].Outcome)

	comp := &compensator{}
	res, err = Replay(context.Background(), rec.Snapshot, compensators(comp), 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"/srv/b", "/srv/a"}, comp.calls())
	require.NoError(t, j.Resolve(res))
	rec, err = j.Get(live.ID())
	require.NoError(t, err)
	assert.Equal(t, tx.StateRolledBack, rec.Snapshot.State)
}

func TestJournal_List(t *testing.T) {
	j := openJournal(t, journalPath(t), Options{})
	m := newManager(t, j, &compensator{}, nil)
	end := func(node string, commit bool) string {
		live, err := m.Begin(node, 1, "")
		require.NoError(t, err)
		apply(t, live, "/srv/"+node)
		if commit {
			_, err = live.Commit(context.Background())
		} else {
			_, err = live.Rollback(context.Background())
		}
		require.NoError(t, err)
		return live.ID()
	}
	a := end("a", true)
	b := end("b", false)
	c := end("a", false)

	tests := []struct {
		name   string
		filter Filter
		want   []string
	}{
		{name: "all", want: []string{a, b, c}},
		{name: "node", filter: Filter{Node: "a"}, want: []string{a, c}},
		{name: "state", filter: Filter{States: []tx.State{tx.StateRolledBack}}, want: []string{b, c}},
		{name: "states and node", filter: Filter{States: []tx.State{tx.StateRolledBack, tx.StateCommitted}, Node: "b"}, want: []string{b}},
		{name: "limit", filter: Filter{Limit: 2}, want: []string{a, b}},
		{name: "none", filter: Filter{Node: "zzz"}, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := j.List(tt.filter)
			require.NoError(t, err)
			ids := []string{}
			for _, r := range recs {
				ids = append(ids, r.Snapshot.ID)
				assert.Len(t, r.Snapshot.Operations, 1)
			}
			assert.Equal(t, tt.want, ids)
		})
	}
}
