// Package journal is the host's write-ahead journal of effect transactions:
// one bolt file (go.etcd.io/bbolt) recording every transaction of a
// tx.Manager, so that after a crash (kill -9, an out-of-memory kill, a power
// cut) the host can roll back, from the journal alone, every transaction
// that was in flight, and publish again the outbox of every transaction that
// committed but may not have published it.
//
// # Use
//
// A host opens the journal in its data directory before anything else, and
// recovers before it accepts calls:
//
//  1. For each snapshot of Incomplete (newest first): Replay it with the
//     host's compensators and record the Result with Resolve.
//  2. For each snapshot of Unpublished: publish its Outbox again and call
//     MarkPublished.
//  3. Create the tx.Manager with the Journal as Config.Observer, and call
//     MarkPublished after each Commit that returned no error.
//
// `onex-host journal` lists records (List, Get), retries a failed
// compensation (Get, Replay, Resolve) and compacts (Compact).
//
// # What is written, and when
//
// Every write below is one bolt transaction, on disk when the call returns:
//
//   - OnRecord: the operation, with its compensation (the before-image), and
//     with the transaction's first operation its record (ID, node, attempt,
//     begin time, state active). The intent is durable before tx.Tx.Apply
//     performs the operation; if the write fails OnRecord returns the error
//     and the operation is not performed.
//   - OnStateChange to committed: the state, end time and outbox, before
//     tx.Tx.Commit publishes it. This write is the durable commit point: a
//     crash before it leaves the transaction active, and recovery rolls it
//     back (nothing of it was published yet).
//   - OnStateChange to rolled_back or failed: the state, end time and each
//     operation's rollback outcome.
//   - MarkPublished, Resolve and Compact: what they say.
//
// A transaction that records no operation is never written, unless it
// commits with held events. Nothing is written on OnBegin or on the change
// to active, so a transaction costs one write per operation plus one at its
// end.
//
// # Durability (fsync policy)
//
// By default every write is fsynced (bolt's fdatasync on commit) before it
// returns: it survives a process kill, a kernel crash and a power cut. With
// Options.NoSync the write reaches the operating system's page cache before
// it returns, so it still survives the process being killed, but not a
// kernel crash or power cut, which may also corrupt the file. Writes are
// not grouped: each OnRecord waits for its own fsync, and concurrent writers
// wait in turn (see the benchmarks in bench_test.go).
//
// # Bucket layout
//
// Four top-level buckets, with flat keys so that appending an operation is
// one small Put:
//
//	meta    "layout" → "1"                       the layout version; Open refuses another
//	tx      <id>     → Record JSON               one per transaction, without operations and outbox
//	op      <id> 0x00 <seq, 8 bytes big-endian>  → tx.Operation JSON, one per operation
//	outbox  <id>     → []abi.Event JSON          written at commit when the outbox is not empty
//
// Transaction IDs are version 7 UUIDs, time-ordered, so the tx bucket lists
// transactions in the order they began, and a transaction's operations are
// adjacent in op, in Seq order. A record's JSON embeds a tx.Snapshot
// (FormatVersion 1) with "operations": null; Get and friends fill it in.
//
// # Recovery
//
// A record in state pending or active is a transaction the host never
// finished: Incomplete returns it, and Replay compensates all its
// operations newest first, each one tried even when others fail. An
// operation's intent is written before it is performed, so the last one
// may never have happened; compensations restore a before-image, which is
// harmless then (the tx.Compensation contract). A transaction with a
// rollback failure is kept, state failed, until a retry resolves it as
// rolled_back. Events held by an uncommitted transaction were never
// published and are discarded.
//
// # Growth
//
// Compact removes committed records whose outbox was published and
// rolled-back records once they are older than its argument; Open runs it
// with Options.Retention (24 h by default). Active, failed and unpublished
// records are kept however old.
package journal
