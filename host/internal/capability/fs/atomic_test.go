package fs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/internal/capability/fs"
)

// A reader that reads while a writer replaces a large file over and over
// sees one whole version each time, never a mix or a truncated file.
func TestRoots_Write_atomic(t *testing.T) {
	dir := t.TempDir()
	rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: dir}}})
	versions := [][]byte{
		bytes.Repeat([]byte{'a'}, 1<<20),
		bytes.Repeat([]byte{'b'}, 3<<19), // a different length too
	}
	require.NoError(t, rs.Write(nil, "big", versions[0], 0))

	var done atomic.Bool
	var reads, bad atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for !done.Load() {
				got, err := rs.Read("big", 0)
				if err != nil || !(bytes.Equal(got, versions[0]) || bytes.Equal(got, versions[1])) {
					bad.Add(1)
				}
				reads.Add(1)
			}
		})
	}
	for i := range 30 {
		require.NoError(t, rs.Write(nil, "big", versions[(i+1)%2], 0))
	}
	done.Store(true)
	wg.Wait()
	assert.Zero(t, bad.Load(), "reads that saw neither version")
	assert.Positive(t, reads.Load())
	assert.Empty(t, tempFiles(t, dir))
}

func TestRoots_Write_noTempFiles(t *testing.T) {
	dir := t.TempDir()
	mkdirs(t, dir, "sub")
	rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: dir}}, MaxWriteBytes: 1 << 10})
	tests := []struct {
		name    string
		path    string
		size    int
		wantErr error
	}{
		{name: "success", path: "sub/ok", size: 100},
		{name: "overwrite", path: "sub/ok", size: 200},
		{name: "too large", path: "sub/big", size: 2 << 10, wantErr: fs.ErrTooLarge},
		{name: "onto a directory", path: "sub", size: 1, wantErr: fs.ErrWrongType},
		{name: "missing directory", path: "nodir/x", size: 1, wantErr: fs.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := rs.Write(nil, tt.path, make([]byte, tt.size), 0)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Empty(t, tempFiles(t, dir))
		})
	}
	names, err := os.ReadDir(filepath.Join(dir, "sub"))
	require.NoError(t, err)
	require.Len(t, names, 1)
	assert.Equal(t, "ok", names[0].Name())
}
