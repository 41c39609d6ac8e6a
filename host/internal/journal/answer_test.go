package journal

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJournal_Answer: a staged answer is written with its transaction's commit (also one
// without operations), survives a reopen, is replaced only for the same transaction,
// dropped with a rollback, and compacted with age.
func TestJournal_Answer(t *testing.T) {
	path := journalPath(t)
	clk := newClock()
	j := openJournal(t, path, Options{NoSync: true, Now: clk.Now})
	m := newManager(t, j, &compensator{}, discard)
	ctx := context.Background()

	for _, tc := range []struct {
		name, op string
		targets  []string
		commit   bool
	}{
		{"committed", "op-1", []string{"a"}, true},
		{"committed without operations", "op-2", nil, true},
		{"rolled back", "op-3", []string{"b"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := m.Begin("fileops", 0, tc.op)
			require.NoError(t, err)
			apply(t, x, tc.targets...)
			require.NoError(t, j.StageAnswer(x.ID(), "fileops", tc.op, []byte(`{"n":1}`)))
			_, _, found, err := j.Answer("fileops", tc.op)
			require.NoError(t, err)
			require.False(t, found, "nothing is visible before the commit")
			if tc.commit {
				_, err = x.Commit(ctx)
			} else {
				_, err = x.Rollback(ctx)
			}
			require.NoError(t, err)
			body, txID, found, err := j.Answer("fileops", tc.op)
			require.NoError(t, err)
			require.Equal(t, tc.commit, found)
			if tc.commit {
				assert.JSONEq(t, `{"n":1}`, string(body))
				assert.Equal(t, x.ID(), txID)
				require.NoError(t, j.ReplaceAnswer("another-tx", "fileops", tc.op, []byte(`{"n":3}`)))
				require.NoError(t, j.ReplaceAnswer(x.ID(), "fileops", tc.op, []byte(`{"n":2}`)))
			}
		})
	}
	require.NoError(t, j.Close())

	j = openJournal(t, path, Options{NoSync: true, Now: clk.Now, Retention: -1})
	body, _, found, err := j.Answer("fileops", "op-1")
	require.NoError(t, err)
	require.True(t, found, "the answer survives a reopen")
	assert.JSONEq(t, `{"n":2}`, string(body))
	_, _, found, err = j.Answer("other-node", "op-1")
	require.NoError(t, err)
	assert.False(t, found, "answers are per node")

	clk.Add(2 * time.Hour)
	_, err = j.Compact(time.Hour)
	require.NoError(t, err)
	_, _, found, err = j.Answer("fileops", "op-1")
	require.NoError(t, err)
	assert.False(t, found, "compacted")
}
