// Package tx gives each effect attempt its own transaction: a log of the side
// effects it performs, each with the compensation that undoes it, and an
// outbox of events that are published only if the attempt commits.
//
// It is ONEX's ModelEffectTransaction made safe. There, one transaction object
// may be shared and races; a compensation that fails can stop the rest; a
// cancelled caller cancels its own rollback. Here:
//
//   - A [Manager] (one per host) begins transactions, tracks the open ones and
//     counts the finished ones by final state exactly ([Stats]). At shutdown
//     [Manager.Close] refuses new ones and rolls back every open one.
//   - A [Tx] belongs to one attempt. Its owner calls [Tx.Apply] (or
//     [Tx.Record]) for each side effect, [Tx.Hold] for each event, and ends it
//     with [Tx.Commit] or [Tx.Rollback]. States go pending → active →
//     committed | rolled_back | failed (see [State]).
//   - Commit and Rollback may race (the owner against
//     [Manager.RollbackAll]): the transaction's lock decides, exactly one
//     wins, the other gets [ErrCommitted] or [ErrRolledBack], and a second
//     Rollback returns the first one's outcome. A rollback waits for an
//     Apply in progress, so it never undoes an operation still being done.
//   - Rollback compensates newest first, runs every compensation even when
//     some fail (joining a [*CompensationError] per failure), reports
//     irreversible operations instead of skipping them silently, and runs on
//     a context that ignores the caller's cancellation but has its own
//     deadline ([Config.FinishTimeout], 30 s by default).
//   - Events held in the outbox are published in order after the commit and
//     never after a rollback. A publish failure returns the unpublished
//     events in a [*PublishError]: delivery is at-least-once.
//
// The package performs no I/O. An [Operation] is data: its kind, the service
// and target it touched, and a [Compensation] holding the before-image. The
// caller registers a [Compensator] per kind in [Config.Compensators], which
// does the undoing, and an optional [Observer], through which a journal can
// write each operation before it is performed; [Snapshot] is the JSON record
// of a transaction that such a journal stores and replays after a crash.
//
// Nothing here starts a goroutine except [Manager.RollbackAll], which rolls
// back transactions in parallel and waits for all of them.
package tx
