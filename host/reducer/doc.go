// Package reducer runs ONEX reducer nodes with the state owned by the host.
//
// A reducer is a pure fold, δ(state, event) → (state', intents[]). The fold (a Fold:
// in production a plugin's onex_reduce export, in tests a Go function) never sees
// storage; this package owns every key's state:
//
//   - Per key, one at a time, in arrival order. Node.Apply holds a per-key lock from
//     reading the state until the new state is durable, so events of one key are folded
//     strictly one after another. Waiters for a key's lock are served first come, first
//     served (a channel's waiter queue is FIFO). The lock entry of a key lives only while
//     some Apply holds or waits for it, so idle keys cost no memory.
//   - Across keys, in parallel, bounded. At most Config.MaxParallel folds run at once
//     (default DefaultMaxParallel(), the same number as the plugin pool's default
//     MaxInstances); a fold's slot is released as soon as the fold returns, before the
//     commit, so waiting for the disk never holds a plugin instance.
//   - Durable and exactly once. Store keeps, per (node, key), the state and its sequence
//     number; per (node, key, event id) the sequence the event got; and an outbox entry
//     per intent — all written in ONE bbolt transaction. An event id seen before is not
//     folded again: Apply returns its recorded sequence with Result.Duplicate set. The
//     event-id records are kept for at least the last Config.DedupeWindow events of
//     each key (default 1024; a key's old records are pruned in one pass every
//     DedupeWindow events, so it holds between W and 2W − 1); an id older than that is
//     treated as new.
//   - Group commit. Concurrent commits of different keys share one bbolt transaction and
//     so one fsync (Store's committer goroutine takes whatever commits queued while the
//     previous transaction was being written). Config.SyncEach turns this off.
//   - Failures leave the state untouched. A fold that fails, or returns an output that
//     abi.DecodeReduceOutput would refuse, changes neither state nor sequence; the event
//     goes to the dead-letter list (Store.DeadLetters) with its error and time, Apply
//     returns a *FoldError (matching ErrFold), and Node.Retry applies it again later.
//   - Intents are carried out at least once. Store.Pending lists the outbox; Store.Done
//     removes an entry; a Dispatcher carries entries out through a caller's function,
//     retrying with backoff. Each intent has the deterministic operation id
//     abi.IntentOperationID(node, key, sequence, index), which the effect journal
//     deduplicates, so a redelivered intent takes effect once.
//
// Node, Store and Dispatcher are safe for concurrent use by multiple goroutines. One
// Store file belongs to one process at a time (bbolt's file lock); per-key order holds
// only within that process, so a cluster must route a key to one owner.
package reducer
