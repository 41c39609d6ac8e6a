package host_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/internal/journal"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// crashedJournal writes, in dataDir/journal.db, one open transaction per file: each
// recorded a write of "new" over "old" and then the process "died" (the journal is closed
// with the transactions still open). It returns the transaction ids.
func crashedJournal(t *testing.T, dataDir, dir string, files ...string) []string {
	t.Helper()
	j, err := journal.Open(filepath.Join(dataDir, "journal.db"), journal.Options{})
	require.NoError(t, err)
	m, err := tx.New(tx.Config{Observer: j, Compensators: map[string]tx.Compensator{
		tx.KindFSWrite: tx.CompensatorFunc(func(context.Context, tx.Operation) error { return nil })}})
	require.NoError(t, err)
	var ids []string
	for _, f := range files {
		path := filepath.Join(dir, f)
		require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
		tr, err := m.Begin("node", 0, "")
		require.NoError(t, err)
		require.NoError(t, tr.Record(tx.Operation{Kind: tx.KindFSWrite, Service: "fs:" + dir, Target: path,
			Compensation: &tx.Compensation{Existed: true, Previous: []byte("old"), Mode: 0o644}}))
		require.NoError(t, os.WriteFile(path, []byte("new"), 0o644))
		ids = append(ids, tr.ID())
	}
	require.NoError(t, j.Close())
	return ids
}

func TestHost_RecoverSkipsACorruptRecord(t *testing.T) {
	dataDir, dir := t.TempDir(), t.TempDir()
	ids := crashedJournal(t, dataDir, dir, "a", "b", "c")
	// Damage b's record in place.
	db, err := bolt.Open(filepath.Join(dataDir, "journal.db"), 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(t *bolt.Tx) error { return t.Bucket([]byte("tx")).Put([]byte(ids[1]), []byte("{garbage")) }))
	require.NoError(t, db.Close())

	h, _ := newHost(t, host.NewConfig().WithDataDir(dataDir))
	r, err := h.Recover(context.Background())
	require.NoError(t, err, "the host starts")
	assert.Equal(t, 2, r.RolledBack, "every intact record is recovered")
	require.NotEmpty(t, r.Errors)
	assert.Contains(t, r.Errors[0], "corrupt record")
	assert.Contains(t, r.Errors[0], ids[1])
	for name, want := range map[string]string{"a": "old", "b": "new", "c": "old"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, want, string(b), name)
	}
}

func TestHost_RecoverFromADamagedJournalFile(t *testing.T) {
	dataDir, dir := t.TempDir(), t.TempDir()
	crashedJournal(t, dataDir, dir, "a")
	path := filepath.Join(dataDir, "journal.db")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, fi.Size()/3))

	h, _ := newHost(t, host.NewConfig().WithDataDir(dataDir))
	r, err := h.Recover(context.Background())
	require.NoError(t, err, "the host starts with a fresh journal")
	require.Len(t, r.Errors, 1)
	assert.Contains(t, r.Errors[0], "could not be read")
	moved, err := filepath.Glob(path + ".damaged-*")
	require.NoError(t, err)
	assert.Len(t, moved, 1, "the damaged file is kept for inspection")
	_, err = os.Stat(path)
	assert.NoError(t, err, "a new journal")
}
