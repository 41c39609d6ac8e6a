package kv

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolterrors "go.etcd.io/bbolt/errors"
)

func TestOpenBolt_Persists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kv.db")
	db, err := OpenBolt(path, Config{})
	require.NoError(t, err)
	put(t, ns(t, db, "node-a"), map[string]string{"k": "a", "empty": ""})
	put(t, ns(t, db, "node-b"), map[string]string{"k": "b", "gone": "x"})
	_, err = ns(t, db, "node-b").Delete(t.Context(), "gone")
	require.NoError(t, err)
	require.NoError(t, db.Close())

	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	db = openBoltAt(t, path, Config{})
	assert.Equal(t, map[string]string{"k": "a", "empty": ""}, dump(t, ns(t, db, "node-a")))
	assert.Equal(t, map[string]string{"k": "b"}, dump(t, ns(t, db, "node-b")))
	v, found, err := ns(t, db, "node-a").Get(t.Context(), "empty")
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, []byte{}, v)
}

func TestOpenBolt_Locked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kv.db")
	first, err := OpenBolt(path, Config{})
	require.NoError(t, err)
	put(t, ns(t, first, "node"), map[string]string{"k": "v"})

	// flock locks conflict between two opens of one file even in one
	// process, so this stands in for a second host process.
	start := time.Now()
	_, err = OpenBolt(path, Config{LockTimeout: 100 * time.Millisecond})
	require.ErrorIs(t, err, ErrLocked)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "it waited for the lock")
	assert.Contains(t, err.Error(), path)

	require.NoError(t, first.Close())
	second := openBoltAt(t, path, Config{LockTimeout: 100 * time.Millisecond})
	assert.Equal(t, map[string]string{"k": "v"}, dump(t, ns(t, second, "node")))
}

func TestOpenBolt_Errors(t *testing.T) {
	dir := t.TempDir()
	notBolt := filepath.Join(dir, "not.db")
	require.NoError(t, os.WriteFile(notBolt, []byte("this is not a bolt database, but long enough to be read as one......"), 0o600))
	_, err := OpenBolt(notBolt, Config{})
	assert.ErrorIs(t, err, bolterrors.ErrInvalid)
	assert.Contains(t, err.Error(), notBolt)

	_, err = OpenBolt(filepath.Join(dir, "missing", "kv.db"), Config{})
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// openBoltAt opens the bolt file at path and closes it when the test ends.
func openBoltAt(tb testing.TB, path string, cfg Config) *DB {
	tb.Helper()
	db, err := OpenBolt(path, cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, db.Close()) })
	return db
}
