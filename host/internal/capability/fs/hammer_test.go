package fs_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/internal/capability/fs"
)

// Many goroutines write distinct files into one directory, each in its own
// transaction, and list the directory as they go; every listing holds the
// files a goroutine has written so far, and the final listing is exact.
func TestRoots_hammer(t *testing.T) {
	const (
		workers = 8
		files   = 40
	)
	dir := t.TempDir()
	mkdirs(t, dir, "h")
	rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: dir}}})
	m := newManager(t, nil)
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			tr, err := m.Begin("hammer", 1, "")
			if err != nil {
				errs <- err
				return
			}
			for i := range files {
				name := fmt.Sprintf("h/w%02d-f%03d", w, i)
				if err := rs.Write(tr, name, []byte(strings.Repeat("x", w+i)), 0); err != nil {
					errs <- err
					return
				}
				list, err := rs.List("h")
				if err != nil {
					errs <- err
					return
				}
				seen := 0
				for _, e := range list {
					if strings.HasPrefix(e.Name, fmt.Sprintf("w%02d-", w)) {
						seen++
					}
				}
				if seen != i+1 {
					errs <- fmt.Errorf("worker %d after %d writes lists %d of its files", w, i+1, seen)
					return
				}
			}
			if _, err := tr.Commit(ctx); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	var want []fs.Entry
	for w := range workers {
		for i := range files {
			want = append(want, fs.Entry{Name: fmt.Sprintf("w%02d-f%03d", w, i), Size: int64(w + i)})
		}
	}
	got, err := rs.List("h")
	require.NoError(t, err)
	for i := range got {
		assert.False(t, got[i].ModTime.IsZero(), got[i].Name)
		got[i].ModTime = time.Time{} // checked; names, sizes and kinds are compared below
	}
	assert.Equal(t, want, got)
	assert.Empty(t, tempFiles(t, dir))
	assert.Equal(t, uint64(workers), m.Stats().Committed)
}
