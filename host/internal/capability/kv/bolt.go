package kv

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// OpenBolt validates cfg and opens the bolt database file at path, creating
// it (mode 0600) if it does not exist; its directory must exist. Each
// namespace is a top-level bucket named after it.
//
// The file stays locked until Close: if another DB holds it, in this process
// or another, OpenBolt retries for cfg.LockTimeout (1 s by default) and then
// returns an error wrapping ErrLocked. Every write is fsynced before it
// returns unless cfg.NoSync is set. OpenBolt returns an error wrapping
// ErrInvalidConfig for a bad cfg, or the error of opening the file, such as
// bbolt's errors.ErrInvalid for a file that is not a bolt database.
func OpenBolt(path string, cfg Config) (*DB, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: cfg.LockTimeout, NoSync: cfg.NoSync})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("kv bolt: open %s: %w (gave up after %v)", path, ErrLocked, cfg.LockTimeout)
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return nil, fmt.Errorf("kv bolt: open: %w", err) // err names the path
	}
	if err != nil {
		return nil, fmt.Errorf("kv bolt: open %s: %w", path, err)
	}
	return newDB(cfg, "bolt", &boltEngine{db: db}), nil
}

// boltEngine is the engine of OpenBolt. Each call is one bbolt transaction:
// reads run in parallel, writes one at a time, each committed (and fsynced)
// before the next. bbolt's Batch would merge concurrent writes into one
// fsync, but it delays a lone write by up to 10 ms, so it is not used.
type boltEngine struct {
	db *bolt.DB
}

func (e *boltEngine) get(ns, key string) (value []byte, found bool, err error) {
	err = e.db.View(func(t *bolt.Tx) error {
		b := t.Bucket([]byte(ns))
		if b == nil {
			return nil
		}
		// A cursor tells an empty value from an absent key without relying
		// on how bbolt represents empty values.
		k, v := b.Cursor().Seek([]byte(key))
		if k == nil || string(k) != key {
			return nil
		}
		value, found = append([]byte{}, v...), true // v is valid only in t
		return nil
	})
	return value, found, err
}

func (e *boltEngine) put(ns, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	return e.db.Update(func(t *bolt.Tx) error {
		b, err := t.CreateBucketIfNotExists([]byte(ns))
		if err != nil {
			return err
		}
		return b.Put([]byte(key), value)
	})
}

func (e *boltEngine) delete(ns, key string) (existed bool, err error) {
	err = e.db.Update(func(t *bolt.Tx) error {
		b := t.Bucket([]byte(ns))
		if b == nil {
			return nil
		}
		k, _ := b.Cursor().Seek([]byte(key))
		if k == nil || string(k) != key {
			return nil
		}
		existed = true
		return b.Delete([]byte(key))
	})
	return existed, err
}

func (e *boltEngine) list(ns, prefix string, limit int) ([]Entry, error) {
	entries := []Entry{}
	err := e.db.View(func(t *bolt.Tx) error {
		b := t.Bucket([]byte(ns))
		if b == nil {
			return nil
		}
		p := []byte(prefix)
		c := b.Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p) && len(entries) < limit; k, v = c.Next() {
			entries = append(entries, Entry{Key: string(k), Value: append([]byte{}, v...)})
		}
		return nil
	})
	return entries, err
}

func (e *boltEngine) close() error { return e.db.Close() }
