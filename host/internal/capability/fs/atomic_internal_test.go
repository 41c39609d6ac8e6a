package fs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/internal/tx"
)

// writeAtomic cleans up its temporary file when the final rename fails,
// which the public operations' checks otherwise prevent.
func TestRoot_writeAtomic_renameFails(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "full", "x"), 0o755))
	r, err := openRoot(dir, false)
	require.NoError(t, err)
	defer r.os.Close()

	err = r.writeAtomic("full", []byte("data"), 0o644) // a non-empty directory cannot be replaced
	require.Error(t, err)
	var left []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if strings.HasPrefix(filepath.Base(p), tmpPrefix) {
			left = append(left, p)
		}
		return err
	}))
	assert.Empty(t, left)
	assert.DirExists(t, filepath.Join(dir, "full", "x"))
}

// openRoot captures os.Root's escape error, which kind maps to ErrEscape.
func TestRoot_kind_escape(t *testing.T) {
	r, err := openRoot(t.TempDir(), false)
	require.NoError(t, err)
	defer r.os.Close()
	assert.NotEqual(t, errEscapeUnknown, r.escape)
	_, err = r.os.Open("../x")
	assert.ErrorIs(t, r.kind(err), ErrEscape)
}

// A write's compensation removes the temporary files a crash left behind for
// its target, and only those.
func TestCompensate_writeRemovesTempsOfACrash(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	stale := filepath.Join(dir, "sub", tempTag("sub/a.txt")+"0123456789abcdef")
	other := filepath.Join(dir, "sub", tempTag("sub/b.txt")+"0123456789abcdef")
	for _, p := range []string{stale, other} {
		require.NoError(t, os.WriteFile(p, []byte("half"), 0o600))
	}
	op := tx.Operation{Seq: 1, Kind: tx.KindFSWrite, Service: servicePrefix + dir, Target: filepath.Join(dir, "sub", "a.txt"),
		Compensation: &tx.Compensation{Existed: false}}
	require.NoError(t, Compensator{}.Compensate(context.Background(), op))
	assert.NoFileExists(t, stale)
	assert.FileExists(t, other, "another file's write is not this compensation's business")
	assert.NoFileExists(t, filepath.Join(dir, "sub", "a.txt"))

	// Replayed, it is still fine (idempotent), also when the directory is gone.
	require.NoError(t, Compensator{}.Compensate(context.Background(), op))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "sub")))
	require.NoError(t, Compensator{}.Compensate(context.Background(), op))
}
