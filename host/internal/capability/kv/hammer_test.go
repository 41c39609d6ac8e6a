package kv

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStore_Hammer runs 32 goroutines over 4 namespaces (8 per namespace),
// each mixing puts, gets, deletes and lists on keys of its own and on keys
// shared with the others of its namespace, and then checks the final state
// key by key.
func TestStore_Hammer(t *testing.T) {
	const (
		goroutines = 32
		spaces     = 4
		rounds     = 30
		shared     = 8 // shared keys per namespace
	)
	// ownKept reports whether goroutine-owned key i survives: every third
	// one is deleted right after it is checked.
	ownKept := func(i int) bool { return i%3 != 0 }

	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := t.Context()
		// Without NoSync this test measures the disk: ~3,200 fsyncs in a row.
		// The default, synced path is hammered by TestDB_CloseUnderLoad.
		db := open(t, Config{NoSync: true})
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				space := g % spaces
				s, err := db.Namespace(fmt.Sprintf("node%d", space))
				if !assert.NoError(t, err) {
					return
				}
				own := fmt.Sprintf("g%02d/", g)
				counter := fmt.Sprintf("count/%02d", g)
				<-start
				for i := range rounds {
					// A key only g touches: read back exactly, maybe deleted.
					key, val := fmt.Sprintf("%s%03d", own, i), fmt.Sprintf("%d/%d", g, i)
					assert.NoError(t, s.Put(ctx, key, []byte(val)))
					got, found, err := s.Get(ctx, key)
					assert.NoError(t, err)
					assert.True(t, found, key)
					assert.Equal(t, val, string(got))
					if !ownKept(i) {
						existed, err := s.Delete(ctx, key)
						assert.NoError(t, err)
						assert.True(t, existed, key)
						_, found, err = s.Get(ctx, key)
						assert.NoError(t, err)
						assert.False(t, found, key)
					}

					// A key the namespace's 8 goroutines overwrite: any value
					// read must come from a goroutine of this namespace.
					sk := fmt.Sprintf("shared/%d", i%shared)
					assert.NoError(t, s.Put(ctx, sk, []byte(val)))
					got, found, err = s.Get(ctx, sk)
					assert.NoError(t, err)
					assert.True(t, found, sk)
					assert.Equal(t, space, writer(t, got)%spaces, "value %q leaked into %s", got, s.Namespace())

					// g's counter, incremented by read-modify-write: exact,
					// since g is its only writer.
					n := 0
					if got, found, err := s.Get(ctx, counter); assert.NoError(t, err) && found {
						n, err = strconv.Atoi(string(got))
						assert.NoError(t, err)
					}
					assert.Equal(t, i, n, counter)
					assert.NoError(t, s.Put(ctx, counter, []byte(strconv.Itoa(n+1))))

					// g's own prefix lists exactly what g kept so far, sorted.
					entries, err := s.List(ctx, own, 0)
					assert.NoError(t, err)
					want := 0
					for j := range i + 1 {
						if ownKept(j) {
							want++
						}
					}
					assert.Len(t, entries, want)
					assert.True(t, slices.IsSortedFunc(entries, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) }))
				}
			})
		}
		close(start)
		wg.Wait()

		for space := range spaces {
			s := ns(t, db, fmt.Sprintf("node%d", space))
			got := dump(t, s)
			want := map[string]string{}
			for g := space; g < goroutines; g += spaces {
				for i := range rounds {
					if ownKept(i) {
						want[fmt.Sprintf("g%02d/%03d", g, i)] = fmt.Sprintf("%d/%d", g, i)
					}
				}
				want[fmt.Sprintf("count/%02d", g)] = strconv.Itoa(rounds)
			}
			for k := range shared {
				sk := fmt.Sprintf("shared/%d", k)
				require.Contains(t, got, sk)
				w := writer(t, []byte(got[sk]))
				assert.Equal(t, space, w%spaces, "%s of node%d written by goroutine %d", sk, space, w)
				want[sk] = got[sk]
			}
			assert.Equal(t, want, got, "node%d", space)
			assert.Len(t, got, goroutines/spaces*(rounds*2/3+1)+shared)
		}
	})
}

// writer returns g from a value "g/i", or fails the test and returns -1.
// It may be called from any goroutine.
func writer(tb testing.TB, v []byte) int {
	tb.Helper()
	g, _, ok := strings.Cut(string(v), "/")
	n, err := strconv.Atoi(g)
	if !ok || err != nil {
		tb.Errorf("value %q is not g/i", v)
		return -1
	}
	return n
}

// TestDB_CloseUnderLoad closes a DB while 16 goroutines write to it: every
// call either succeeds or fails with ErrClosed, Close waits for the calls in
// progress, and (for bolt) the file holds exactly the acknowledged writes.
func TestDB_CloseUnderLoad(t *testing.T) {
	const goroutines = 16
	for _, b := range []struct {
		name string
		open func(tb testing.TB, path string) (*DB, error)
	}{
		{"memory", func(testing.TB, string) (*DB, error) { return NewMemory(Config{}) }},
		{"bolt", func(_ testing.TB, path string) (*DB, error) { return OpenBolt(path, Config{}) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			path := t.TempDir() + "/kv.db"
			db, err := b.open(t, path)
			require.NoError(t, err)
			s := ns(t, db, "node")
			ctx := t.Context()

			var wg sync.WaitGroup
			acked := make([][]string, goroutines)
			for g := range goroutines {
				wg.Go(func() {
					for i := 0; ; i++ {
						key := fmt.Sprintf("%02d/%04d", g, i)
						err := s.Put(ctx, key, []byte(key))
						if err != nil {
							assert.ErrorIs(t, err, ErrClosed)
							return
						}
						acked[g] = append(acked[g], key)
					}
				})
			}
			for {
				if n, _ := s.List(ctx, "", 0); len(n) >= 2*goroutines {
					break
				}
			}
			require.NoError(t, db.Close())
			wg.Wait()
			if b.name != "bolt" {
				return
			}
			db = openBoltAt(t, path, Config{})
			got := dump(t, ns(t, db, "node"))
			total := 0
			for _, ks := range acked {
				total += len(ks)
				for _, k := range ks {
					assert.Equal(t, k, got[k])
				}
			}
			assert.GreaterOrEqual(t, total, 2*goroutines)
			assert.Len(t, got, total, "a write refused with ErrClosed wrote nothing")
		})
	}
}
