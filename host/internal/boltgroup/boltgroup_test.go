package boltgroup

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// TestCommitter: concurrent updates all commit (a failing one alone fails), and after
// Close an update fails with ErrClosed.
func TestCommitter(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), 0o600, &bolt.Options{NoSync: true})
	require.NoError(t, err)
	defer db.Close()
	c := New(db, 0)
	bad := errors.New("refused")
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			err := c.Update(func(tx *bolt.Tx) error {
				if i%50 == 7 {
					return bad
				}
				b, err := tx.CreateBucketIfNotExists([]byte("b"))
				if err != nil {
					return err
				}
				return b.Put(fmt.Appendf(nil, "k%03d", i), []byte("v"))
			})
			if i%50 == 7 {
				assert.ErrorIs(t, err, bad)
			} else {
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		assert.Equal(t, 196, tx.Bucket([]byte("b")).Stats().KeyN)
		return nil
	}))
	c.Close()
	c.Close()
	assert.True(t, c.Closed())
	assert.ErrorIs(t, c.Update(func(*bolt.Tx) error { return nil }), ErrClosed)
}
