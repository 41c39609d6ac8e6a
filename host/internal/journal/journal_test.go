package journal

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onexhost/onex-host/host/internal/tx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

func TestOpen(t *testing.T) {
	tests := []struct {
		name string
		path func(t testing.TB) string
		opts Options
		want error
	}{
		{name: "negative lock timeout", path: journalPath, opts: Options{LockTimeout: -time.Second}, want: ErrInvalidOptions},
		{name: "missing directory", path: func(t testing.TB) string { return filepath.Join(t.TempDir(), "no", "journal.db") }, want: fs.ErrNotExist},
		{name: "not a bolt file", path: func(t testing.TB) string {
			p := journalPath(t)
			require.NoError(t, os.WriteFile(p, make([]byte, 8192), 0o600))
			return p
		}, want: ErrCorrupt},
		{name: "truncated journal (bbolt would fault on it)", path: func(t testing.TB) string {
			p := journalPath(t)
			j, err := Open(p, Options{})
			require.NoError(t, err)
			require.NoError(t, j.Close())
			fi, err := os.Stat(p)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(p, fi.Size()/3))
			return p
		}, want: ErrCorrupt},
		{name: "bolt file of something else", path: func(t testing.TB) string {
			p := journalPath(t)
			db, err := bolt.Open(p, 0o600, nil)
			require.NoError(t, err)
			require.NoError(t, db.Update(func(b *bolt.Tx) error { _, err := b.CreateBucket([]byte("sessions")); return err }))
			require.NoError(t, db.Close())
			return p
		}, want: ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := Open(tt.path(t), tt.opts)
			require.ErrorIs(t, err, tt.want)
			assert.Nil(t, j)
		})
	}
}

func TestOpen_mode(t *testing.T) {
	path := journalPath(t)
	openJournal(t, path, Options{})
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), info.Mode().Perm())
}

func TestOpen_locked(t *testing.T) {
	path := journalPath(t)
	j := openJournal(t, path, Options{})
	_, err := Open(path, Options{LockTimeout: 100 * time.Millisecond})
	require.ErrorIs(t, err, ErrLocked)

	require.NoError(t, j.Close())
	openJournal(t, path, Options{LockTimeout: 50 * time.Millisecond})
}

func TestJournal_Close(t *testing.T) {
	j, err := Open(journalPath(t), Options{})
	require.NoError(t, err)
	m := newManager(t, j, &compensator{}, nil)
	live, err := m.Begin("writer", 1, "")
	require.NoError(t, err)
	require.NoError(t, j.Close())
	require.NoError(t, j.Close(), "a second Close does nothing")

	calls := []struct {
		name string
		call func() error
	}{
		{name: "OnRecord", call: func() error { return j.OnRecord(live, write("/a")) }},
		{name: "Get", call: func() error { _, err := j.Get(live.ID()); return err }},
		{name: "List", call: func() error { _, err := j.List(Filter{}); return err }},
		{name: "Incomplete", call: func() error { _, err := j.Incomplete(); return err }},
		{name: "Unpublished", call: func() error { _, err := j.Unpublished(); return err }},
		{name: "MarkPublished", call: func() error { return j.MarkPublished(live.ID()) }},
		{name: "Resolve", call: func() error { return j.Resolve(tx.Result{ID: live.ID(), State: tx.StateRolledBack}) }},
		{name: "Compact", call: func() error { _, err := j.Compact(0); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			assert.ErrorIs(t, c.call(), ErrClosed)
		})
	}
	_, err = live.Rollback(context.Background())
	require.NoError(t, err)
}

// A record that cannot be decoded is reported, and every intact one is
// still returned and recoverable.
func TestJournal_corrupt(t *testing.T) {
	path := journalPath(t)
	j, err := Open(path, Options{})
	require.NoError(t, err)
	m := newManager(t, j, &compensator{}, nil)
	var ids []string
	for range 3 {
		live, err := m.Begin("writer", 1, "")
		require.NoError(t, err)
		apply(t, live, "/srv/a")
		ids = append(ids, live.ID())
	}
	require.NoError(t, j.Close())

	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(b *bolt.Tx) error {
		return b.Bucket(bucketTx).Put([]byte(ids[1]), []byte(`{"snapshot": {"v": 1, "id": trunc`))
	}))
	require.NoError(t, db.Close())

	j = openJournal(t, path, Options{})
	snaps, err := j.Incomplete()
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Contains(t, err.Error(), ids[1])
	require.Len(t, snaps, 2)
	assert.Equal(t, []string{ids[2], ids[0]}, []string{snaps[0].ID, snaps[1].ID})
	_, err = j.Get(ids[1])
	require.ErrorIs(t, err, ErrCorrupt)
	n, err := j.Compact(0)
	require.NoError(t, err)
	assert.Zero(t, n, "a corrupt record is kept")
}
