package kv

import (
	"context"
	"fmt"
)

// engine is the storage under a DB: a map of namespaces to sorted maps of
// keys to values. The DB validates every argument and keeps calls away from
// a closed engine; an engine must be safe for concurrent use, must copy the
// values it is given before keeping them, and must return values the caller
// owns (non-nil, even when empty).
type engine interface {
	get(ns, key string) (value []byte, found bool, err error)
	put(ns, key string, value []byte) error
	delete(ns, key string) (existed bool, err error)
	// list returns up to limit (> 0) entries of ns whose keys start with
	// prefix, sorted by key.
	list(ns, prefix string, limit int) ([]Entry, error)
	close() error
}

// DB is a key-value database divided into namespaces, one per effect node.
// Open one with OpenBolt or NewMemory; the zero value is not usable. Reach
// its data through DB.Namespace.
//
// A DB is safe for concurrent use by multiple goroutines.
type DB struct {
	cfg  Config
	kind string // "bolt" or "memory", for messages
	eng  engine
	gate gate
}

func newDB(cfg Config, kind string, eng engine) *DB {
	return &DB{cfg: cfg, kind: kind, eng: eng}
}

// Namespace returns the Store holding the keys of namespace name, usually
// the name of the effect node that owns them. Views of the same name share
// the same keys; no view can reach another namespace. A namespace needs no
// creating: it exists, empty, until something is put in it. It does not
// block.
//
// It returns an error wrapping ErrInvalidNamespace if name is empty, longer
// than MaxNamespaceLen bytes or not valid UTF-8, or ErrClosed if the DB was
// closed.
func (db *DB) Namespace(name string) (Store, error) {
	if err := checkNamespace(name); err != nil {
		return nil, fmt.Errorf("kv %s: namespace: %w", db.kind, err)
	}
	if db.gate.isClosed() {
		return nil, fmt.Errorf("kv %s: namespace %q: %w", db.kind, name, ErrClosed)
	}
	return &view{db: db, ns: name}, nil
}

// Close waits for the calls in progress to return and then releases the
// DB: a bolt DB flushes and closes its file and releases its lock. Calls made
// after Close began fail with ErrClosed. A second Close does nothing and
// returns nil. It returns the error of closing the file, if any.
func (db *DB) Close() error {
	if !db.gate.shut() {
		return nil
	}
	if err := db.eng.close(); err != nil {
		return fmt.Errorf("kv %s: close: %w", db.kind, err)
	}
	return nil
}

// restore makes key in ns hold prev if existed, or be absent otherwise. It
// is what a compensation does, and ignores Config.MaxValueSize.
func (db *DB) restore(ctx context.Context, ns, key string, prev []byte, existed bool) error {
	if err := checkNamespace(ns); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !db.gate.enter() {
		return ErrClosed
	}
	defer db.gate.exit()
	if existed {
		return db.eng.put(ns, key, prev)
	}
	_, err := db.eng.delete(ns, key)
	return err
}
