package fs_test

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/internal/capability/fs"
	"github.com/onexhost/onex-host/host/internal/tx"
)

var errStep = errors.New("step failed")

// newRoots opens roots over grants and closes them when the test ends.
func newRoots(tb testing.TB, cfg fs.Config) *fs.Roots {
	tb.Helper()
	rs, err := fs.New(cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, rs.Close()) })
	return rs
}

// mkdirs creates each directory under base.
func mkdirs(tb testing.TB, base string, dirs ...string) {
	tb.Helper()
	for _, d := range dirs {
		require.NoError(tb, os.MkdirAll(filepath.Join(base, d), 0o755))
	}
}

// writeFile writes content to base/rel with mode 0o644.
func writeFile(tb testing.TB, base, rel, content string) {
	tb.Helper()
	require.NoError(tb, os.WriteFile(filepath.Join(base, rel), []byte(content), 0o644))
}

// snapshot describes every entry under dir by its path: type, permission
// bits, and a file's content or a link's target.
func snapshot(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&iofs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "link " + target
		case fi.IsDir():
			out[rel] = fmt.Sprintf("dir %v", fi.Mode().Perm())
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = fmt.Sprintf("file %v %q", fi.Mode().Perm(), b)
		}
		return nil
	})
	require.NoError(tb, err)
	return out
}

// tempFiles returns the paths under dir of leftover temporary files.
func tempFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	var out []string
	for p := range snapshot(tb, dir) {
		if strings.HasPrefix(filepath.Base(p), ".onex-tmp-") {
			out = append(out, p)
		}
	}
	return out
}

// recorder is a tx.Observer that keeps every recorded operation and, when
// refuse is set, refuses each one, so that Apply never performs it.
type recorder struct {
	refuse bool

	mu  sync.Mutex // guards ops
	ops []tx.Operation
}

func (r *recorder) OnBegin(*tx.Tx)                           {}
func (r *recorder) OnStateChange(*tx.Tx, tx.State, tx.State) {}

func (r *recorder) OnRecord(_ *tx.Tx, op tx.Operation) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, op)
	if r.refuse {
		return errStep
	}
	return nil
}

func (r *recorder) recorded() []tx.Operation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tx.Operation(nil), r.ops...)
}

// newManager returns a transaction manager with the fs compensators and obs
// (which may be nil).
func newManager(tb testing.TB, obs tx.Observer) *tx.Manager {
	tb.Helper()
	cfg := tx.Config{Compensators: fs.Compensators()}
	if obs != nil {
		cfg.Observer = obs
	}
	m, err := tx.New(cfg)
	require.NoError(tb, err)
	return m
}

// begin starts a transaction.
func begin(tb testing.TB, m *tx.Manager) *tx.Tx {
	tb.Helper()
	t, err := m.Begin("files", 1, "")
	require.NoError(tb, err)
	return t
}
