package kv

import "errors"

var (
	// ErrInvalidConfig is returned by OpenBolt and NewMemory when a Config
	// field is out of range.
	ErrInvalidConfig = errors.New("kv: invalid config")
	// ErrInvalidNamespace is returned by DB.Namespace for a namespace that is
	// empty, longer than MaxNamespaceLen bytes or not valid UTF-8, and by
	// Compensator.Compensate for an operation naming such a namespace.
	ErrInvalidNamespace = errors.New("kv: invalid namespace")
	// ErrInvalidKey is returned for a key that is empty, longer than
	// MaxKeyLen bytes or not valid UTF-8, and by List for a prefix that is
	// longer than MaxKeyLen bytes or not valid UTF-8. Nothing is changed.
	ErrInvalidKey = errors.New("kv: invalid key")
	// ErrInvalidLimit is returned by List for a negative limit.
	ErrInvalidLimit = errors.New("kv: invalid list limit")
	// ErrTooLarge is returned by Put for a value longer than
	// Config.MaxValueSize. Nothing is changed.
	ErrTooLarge = errors.New("kv: value too large")
	// ErrClosed is returned by every Store method once the Store or its DB
	// was closed, and by DB.Namespace and Compensator.Compensate once the DB
	// was closed.
	ErrClosed = errors.New("kv: store closed")
	// ErrLocked is returned by OpenBolt when another DB, in this process or
	// another, holds the file open and its lock was not released within
	// Config.LockTimeout.
	ErrLocked = errors.New("kv: database file locked by another user")
	// ErrBadOperation is returned by Compensator.Compensate for an operation
	// that this package did not record: a Kind other than tx.KindKVPut and
	// tx.KindKVDelete, a Service not of the form "kv:<namespace>", or no
	// Compensation. Nothing is changed.
	ErrBadOperation = errors.New("kv: not a kv operation")
)
