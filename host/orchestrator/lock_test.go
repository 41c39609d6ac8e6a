package orchestrator

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpen_LockedFile: a file another Open holds (a serve, usually) is refused with an
// error naming it and saying why, after bbolt's lock timeout (5 s).
func TestOpen_LockedFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "workflows.db")
	e := openEngine(t, filepath.Dir(path), &counter{})
	defer e.Close()
	_, err := Open(path, Config{Runner: &counter{}})
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, "locked by another process (a running onex-host serve on this data directory, probably)")
}
