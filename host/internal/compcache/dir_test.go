package compcache

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeCache stands in for wazero: compiling key writes <version>/<key> of size bytes
// unless it is there (a hit).
type fakeCache struct {
	root, version string
	size          int
	compiles      int
}

func (c *fakeCache) compile(key string) func() error {
	return func() error {
		path := filepath.Join(c.root, c.version, key)
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		c.compiles++
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		return os.WriteFile(path, make([]byte, c.size), 0o644)
	}
}

// clock is a settable time for Dir.now; file times written by the fake compiler are set
// to it too, so that "last use" is fully controlled.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newDir(t *testing.T, max int64) (*Dir, *fakeCache, *clock) {
	t.Helper()
	root := t.TempDir()
	d, err := Open(root, max)
	require.NoError(t, err)
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	d.now = clk.now
	return d, &fakeCache{root: root, version: "wazero-v1-amd64-linux", size: 100}, clk
}

// track compiles key at the clock's time: the new file's time is set as if written now.
func track(t *testing.T, d *Dir, c *fakeCache, clk *clock, key string) bool {
	t.Helper()
	added, err := d.Track(key, c.compile(key))
	require.NoError(t, err)
	if added {
		path := filepath.Join(c.root, c.version, key)
		require.NoError(t, os.Chtimes(path, clk.t, clk.t))
	}
	return added
}

func names(fs []File) []string {
	var out []string
	for _, f := range fs {
		out = append(out, filepath.Base(f.Name))
	}
	return out
}

// TestDir_PruneEvictsLeastRecentlyUsed: a, b, c compiled in that order; a used again
// (a hit) after c; pruning to room for two evicts b — the least recently used, not the
// oldest compiled — and a later use of b compiles it again.
func TestDir_PruneEvictsLeastRecentlyUsed(t *testing.T) {
	d, c, clk := newDir(t, 250)
	for _, key := range []string{"a", "b", "c"} {
		clk.t = clk.t.Add(time.Hour)
		assert.True(t, track(t, d, c, clk, key), "first compile of %s adds a file", key)
	}
	clk.t = clk.t.Add(time.Hour)
	assert.False(t, track(t, d, c, clk, "a"), "a hit adds nothing")
	assert.Equal(t, 3, c.compiles)
	assert.Equal(t, []string{"a", "c", "b"}, names(d.Files()), "most recently used first")
	assert.Equal(t, int64(300), d.Size())

	p, err := d.Prune(-1)
	require.NoError(t, err)
	assert.Equal(t, Pruned{Files: 1, Bytes: 100, Left: 200}, p)
	assert.Equal(t, []string{"a", "c"}, names(d.Files()))

	clk.t = clk.t.Add(time.Hour)
	assert.True(t, track(t, d, c, clk, "b"), "an evicted module compiles again and is recorded again")
	assert.Equal(t, 4, c.compiles)
	p, err = d.Prune(-1)
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "a"}, names(d.Files()), "c was now the least recently used")
	assert.Equal(t, int64(200), p.Left)
}

// TestDir_ClearAndOldVersions: Prune(0) and Clear empty the cache, including an old
// wazero version's directory, which goes too; Clear also drops the index.
func TestDir_ClearAndOldVersions(t *testing.T) {
	d, c, clk := newDir(t, -1)
	track(t, d, c, clk, "a")
	c.version = "wazero-v2-amd64-linux"
	track(t, d, c, clk, "b")
	p, err := d.Prune(-1)
	require.NoError(t, err)
	assert.Equal(t, Pruned{Left: 200}, p, "no limit: nothing pruned")

	p, err = d.Clear()
	require.NoError(t, err)
	assert.Equal(t, Pruned{Files: 2, Bytes: 200}, p)
	entries, err := os.ReadDir(d.Root())
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, indexDir, entries[0].Name(), "version directories removed once empty")
	index, err := os.ReadDir(filepath.Join(d.Root(), indexDir))
	require.NoError(t, err)
	assert.Empty(t, index)
	assert.Zero(t, d.Size())
}

// TestDir_TrackFailure: a failed compilation records nothing and reports its error.
func TestDir_TrackFailure(t *testing.T) {
	d, _, _ := newDir(t, 0)
	assert.Equal(t, DefaultMaxBytes, d.MaxBytes())
	boom := os.ErrPermission
	added, err := d.Track("x", func() error { return boom })
	assert.ErrorIs(t, err, boom)
	assert.False(t, added)
	_, ok := d.readIndex(d.indexPath("x"))
	assert.False(t, ok)
}

// TestDir_ConcurrentTrack: 16 goroutines compile 16 keys at once, twice each. Every
// module is compiled once (the fake compiler's second call is a hit), every file ends in
// some key's index, and nothing is lost.
func TestDir_ConcurrentTrack(t *testing.T) {
	d, _, _ := newDir(t, -1)
	root := d.Root()
	var wg sync.WaitGroup
	var mu sync.Mutex
	compiles := 0
	for i := range 16 {
		key := string(rune('a' + i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2 {
				_, err := d.Track(key, func() error {
					path := filepath.Join(root, "v", key)
					if _, err := os.Stat(path); err == nil {
						return nil
					}
					mu.Lock()
					compiles++
					mu.Unlock()
					_ = os.MkdirAll(filepath.Dir(path), 0o755)
					return os.WriteFile(path, []byte(key), 0o644)
				})
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 16, compiles)
	assert.Len(t, d.Files(), 16)
	indexed := map[string]bool{}
	for i := range 16 {
		names, ok := d.readIndex(d.indexPath(string(rune('a' + i))))
		require.True(t, ok, "key %c indexed", 'a'+i)
		for _, n := range names {
			indexed[n] = true
		}
		assert.Contains(t, names, filepath.Join("v", string(rune('a'+i))), "each key's own file is in its index")
	}
	assert.Len(t, indexed, 16)
}
