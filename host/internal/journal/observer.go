package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/onexhost/onex-host/host/internal/tx"
	bolt "go.etcd.io/bbolt"
)

// The Journal is a tx.Observer.
var _ tx.Observer = (*Journal)(nil)

// OnBegin implements tx.Observer. It writes nothing: a transaction enters the
// journal with its first operation (or, if it has none, when it commits with
// held events), so that an attempt that touches nothing costs no write. It
// only remembers when t began, for that first write.
func (j *Journal) OnBegin(t *tx.Tx) {
	begun := t.Snapshot().BegunAt // cheap: t has no operations yet
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.closed.Load() {
		j.begun[t.ID()] = begun
	}
}

// OnRecord implements tx.Observer: it writes op, with its compensation, as
// operation op.Seq of t, together with t's record (node, attempt, begin
// time, state active) if this is t's first operation. The write is on disk
// (fsynced, unless Options.NoSync) when OnRecord returns nil, so the intent
// precedes the side effect.
//
// It returns an error wrapping ErrClosed after Close, or the error of
// encoding or writing; tx.Tx.Record and Apply then return it wrapped, and
// Apply does not perform op.
func (j *Journal) OnRecord(t *tx.Tx, op tx.Operation) error {
	v, err := json.Marshal(op)
	if err != nil {
		return fmt.Errorf("journal: encode op %d of transaction %s: %w", op.Seq, t.ID(), err)
	}
	id := t.ID()
	first := j.firstRecord(t, j.opts.Now())
	err = j.update(func(b *bolt.Tx) error {
		if b.Bucket(bucketTx).Get([]byte(id)) == nil {
			if err := putHeader(b, first); err != nil {
				return err
			}
		}
		return b.Bucket(bucketOp).Put(opKey(id, op.Seq), v)
	})
	if err != nil {
		return fmt.Errorf("journal: write op %d of transaction %s: %w", op.Seq, id, err)
	}
	return nil
}

// OnStateChange implements tx.Observer. The change to active writes nothing
// (OnRecord writes the record). The change to committed writes the state,
// the end time and the outbox, on disk before tx.Tx.Commit publishes
// anything: that write is the transaction's durable commit point, and a
// crash before it leaves the transaction to be rolled back. The outbox is
// marked unpublished until MarkPublished; a commit with an empty outbox is
// published at once. The change to rolled_back or failed writes the state,
// the end time and each operation's rollback outcome, so that a failed
// compensation can be retried later.
//
// A commit also writes the answer staged for t (StageAnswer), in the same
// write. A transaction the journal holds no record of (no operation
// recorded) is not written, except a commit with held events. An error writing cannot be
// returned, so it is logged at Error level; the record keeps its previous
// state, and recovery treats it accordingly (rolls back a commit it missed,
// compensates again a rollback it missed).
func (j *Journal) OnStateChange(t *tx.Tx, from, to tx.State) {
	if !to.Final() {
		return
	}
	j.mu.Lock()
	delete(j.begun, t.ID())
	staged, hasAnswer := j.staged[t.ID()]
	delete(j.staged, t.ID())
	j.mu.Unlock()

	snap := t.Snapshot()
	var rollback []RollbackOp
	if to != tx.StateCommitted {
		// The rollback has ended (t reached its final state before the
		// observer is called), so a second Rollback returns its Result at
		// once without doing anything.
		res, _ := t.Rollback(context.Background())
		rollback = rollbackOps(res.RollbackOperations)
	}
	now := j.opts.Now()
	first := j.newRecord(snap.ID, snap.Node, snap.Attempt, snap.OperationID, snap.BegunAt, to, now)
	err := j.update(func(b *bolt.Tx) error {
		rec, found, err := header(b, snap.ID)
		if err != nil {
			return err
		}
		if to == tx.StateCommitted && hasAnswer {
			// In the commit's own write: the answer exists if and only if the commit does.
			if err := putAnswer(b, staged, snap.ID, now); err != nil {
				return err
			}
		}
		if !found {
			if to != tx.StateCommitted || len(snap.Outbox) == 0 {
				return nil // nothing of it to recover
			}
			rec = first
		}
		rec.Snapshot.State = to
		rec.Snapshot.EndedAt = snap.EndedAt
		rec.UpdatedAt = now
		rec.Rollback = rollback
		rec.Recovered = false
		if to == tx.StateCommitted {
			rec.Published = len(snap.Outbox) == 0
			if rec.Published {
				rec.PublishedAt = now
			} else {
				v, err := json.Marshal(snap.Outbox)
				if err != nil {
					return err
				}
				if err := b.Bucket(bucketOutbox).Put([]byte(snap.ID), v); err != nil {
					return err
				}
			}
		}
		return putHeader(b, rec)
	})
	if err != nil {
		j.log.Error("journal: write state change", "tx", snap.ID, "node", snap.Node,
			"attempt", snap.Attempt, "from", from, "to", to, "err", err)
	}
}

// firstRecord returns the record written with t's first operation.
func (j *Journal) firstRecord(t *tx.Tx, now time.Time) Record {
	j.mu.Lock()
	begun, ok := j.begun[t.ID()]
	j.mu.Unlock()
	if !ok {
		begun = t.Snapshot().BegunAt // OnBegin was missed; rare, so the copy is fine
	}
	return j.newRecord(t.ID(), t.Node(), t.Attempt(), t.OperationID(), begun, tx.StateActive, now)
}

// newRecord returns the record of a transaction as first written, by this boot.
func (j *Journal) newRecord(id, node string, attempt int, opID string, begun time.Time, s tx.State, now time.Time) Record {
	return Record{
		Snapshot: tx.Snapshot{
			Version:     tx.FormatVersion,
			ID:          id,
			Node:        node,
			Attempt:     attempt,
			OperationID: opID,
			State:       s,
			BegunAt:     begun,
		},
		UpdatedAt: now,
		Boot:      j.boot,
	}
}
