package kv

import (
	"context"
	"fmt"
	"sync/atomic"
)

// Entry is one key and its value, as List returns them.
type Entry struct {
	Key   string
	Value []byte
}

// Store is the view of one namespace of a DB: what the kv capability of one
// effect node may touch. Get one from DB.Namespace, or bind one to a
// transaction with WithTx.
//
// Get, Put, Delete and List check their context before they start and then
// run to the end (a write cannot be interrupted halfway). Each returns an
// error wrapping the context's error, ErrInvalidKey for a bad key, or
// ErrClosed once the Store or its DB was closed, and changes nothing in
// those cases; on a bolt DB it may also return an I/O error. Errors name
// the namespace, the operation and the key.
//
// A Store is safe for concurrent use by multiple goroutines.
type Store interface {
	// Namespace returns the name of the namespace the Store reaches.
	Namespace() string
	// Get returns a copy of the value of key and true, or nil and false if
	// key is absent. An empty value is returned as a non-nil empty slice.
	Get(ctx context.Context, key string) (value []byte, found bool, err error)
	// Put sets key to a copy of value, which may be empty, creating the key
	// if it is absent. It returns an error wrapping ErrTooLarge if value is
	// longer than Config.MaxValueSize. On a bolt DB it blocks until the
	// write is on disk (see Config.NoSync).
	Put(ctx context.Context, key string, value []byte) error
	// Delete removes key and reports whether it was there. Deleting an
	// absent key is not an error.
	Delete(ctx context.Context, key string) (existed bool, err error)
	// List returns the entries whose keys start with prefix (all of them
	// if prefix is empty), sorted by key in byte order, at most limit of
	// them: the first ones. A limit of 0, or above MaxListLimit, means
	// MaxListLimit; a negative one gets an error wrapping ErrInvalidLimit.
	// Values are copies. The result is empty, not an error, when nothing
	// matches. A prefix follows the key rules except that it may be empty.
	List(ctx context.Context, prefix string, limit int) ([]Entry, error)
	// Close detaches the Store: its later calls fail with ErrClosed, while
	// calls in progress finish. It does not close the DB or other Stores of
	// the same namespace. A second Close does nothing; it returns nil.
	Close() error
}

// view is the Store of one namespace of a DB.
type view struct {
	db     *DB
	ns     string
	closed atomic.Bool
}

func (v *view) Namespace() string { return v.ns }

// enter checks a call's argument error, the view, the context and the DB,
// in that order, and admits the call, which must then call v.db.gate.exit.
func (v *view) enter(ctx context.Context, argErr error) error {
	switch {
	case v.closed.Load():
		return ErrClosed
	case argErr != nil:
		return argErr
	case ctx.Err() != nil:
		return ctx.Err()
	case !v.db.gate.enter():
		return ErrClosed
	}
	return nil
}

// wrap adds the operation, namespace and key to err.
func (v *view) wrap(op, key string, err error) error {
	return fmt.Errorf("kv %s %q: %s %.64q: %w", v.db.kind, v.ns, op, key, err)
}

func (v *view) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := v.enter(ctx, checkKey(key)); err != nil {
		return nil, false, v.wrap("get", key, err)
	}
	defer v.db.gate.exit()
	value, found, err := v.db.eng.get(v.ns, key)
	if err != nil {
		return nil, false, v.wrap("get", key, err)
	}
	return value, found, nil
}

func (v *view) Put(ctx context.Context, key string, value []byte) error {
	if err := v.enter(ctx, v.checkPut(key, value)); err != nil {
		return v.wrap("put", key, err)
	}
	defer v.db.gate.exit()
	if err := v.db.eng.put(v.ns, key, value); err != nil {
		return v.wrap("put", key, err)
	}
	return nil
}

// checkPut returns the error Put returns for invalid arguments, or nil.
func (v *view) checkPut(key string, value []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if len(value) > v.db.cfg.MaxValueSize {
		return fmt.Errorf("%w: %d bytes, above the limit of %d", ErrTooLarge, len(value), v.db.cfg.MaxValueSize)
	}
	return nil
}

func (v *view) Delete(ctx context.Context, key string) (bool, error) {
	if err := v.enter(ctx, checkKey(key)); err != nil {
		return false, v.wrap("delete", key, err)
	}
	defer v.db.gate.exit()
	existed, err := v.db.eng.delete(v.ns, key)
	if err != nil {
		return false, v.wrap("delete", key, err)
	}
	return existed, nil
}

func (v *view) List(ctx context.Context, prefix string, limit int) ([]Entry, error) {
	n, limitErr := listLimit(limit)
	argErr := checkPrefix(prefix)
	if argErr == nil {
		argErr = limitErr
	}
	if err := v.enter(ctx, argErr); err != nil {
		return nil, v.wrap("list", prefix, err)
	}
	defer v.db.gate.exit()
	entries, err := v.db.eng.list(v.ns, prefix, n)
	if err != nil {
		return nil, v.wrap("list", prefix, err)
	}
	return entries, nil
}

func (v *view) Close() error {
	v.closed.Store(true)
	return nil
}
