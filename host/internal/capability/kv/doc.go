// Package kv is the host-owned key-value store behind the kv capability of
// effect nodes: the host keeps the data, and a plugin reaches it only through
// host functions bound to its own node.
//
// A [DB] holds the data, divided into namespaces, one per effect node. It
// comes in two flavours that behave alike:
//
//   - [OpenBolt] keeps it in one file with go.etcd.io/bbolt, one bucket per
//     namespace. Every Put and Delete is its own bbolt transaction, written
//     to disk and fsynced before it returns, unless [Config.NoSync] is set.
//     The file is locked while it is open; a second DB (in this process or
//     another) waits [Config.LockTimeout] for the lock and then fails with
//     [ErrLocked].
//   - [NewMemory] keeps it in maps, for tests and for hosts that need no
//     persistence.
//
// [DB.Namespace] returns a [Store], a view of one namespace. A Store has no
// way to name another namespace, so the host isolates nodes by giving each
// node the view of the namespace named after it: one node cannot read, list
// or change another's keys, and the same key in two namespaces holds two
// values.
//
// Keys and namespaces are non-empty, valid UTF-8, at most [MaxKeyLen] and
// [MaxNamespaceLen] bytes; values are at most [Config.MaxValueSize] bytes
// (1 MiB by default) and may be empty, which is not the same as absent.
// Values passed in are copied and values returned are copies the caller owns.
// Breaking a rule gets a typed error ([ErrInvalidKey],
// [ErrInvalidNamespace], [ErrTooLarge]) and changes nothing.
//
// # Transactions
//
// [WithTx] binds a Store to the [tx.Tx] of an effect attempt: each Put and
// Delete through it reads the key's before-image, records a [tx.Operation]
// of kind [tx.KindKVPut] or [tx.KindKVDelete] with [tx.Tx.Apply] (so a
// journal holds the intent before the write happens) and then performs it.
// A [Compensator], registered with the transaction manager for both kinds,
// undoes such operations on rollback by making the key hold its before-image
// again, or be absent if it was absent. That is idempotent, and harmless for
// an operation that never ran. An operation names its namespace in Service
// as "kv:<namespace>" and its key in Target.
//
// Transactions give no isolation: a rollback restores the before-image even
// if another writer changed the key in between. Each node owns its
// namespace, so that only happens when one node runs concurrent attempts
// that write the same key.
//
// Every type here is safe for concurrent use by multiple goroutines. Nothing
// in the package starts a goroutine.
package kv
