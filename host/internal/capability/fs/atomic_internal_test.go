package fs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
