package journal

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/onexhost/onex-host/host/internal/tx"
	bolt "go.etcd.io/bbolt"
)

// Record is what the journal holds about one transaction, as Get and List
// return it and `onex-host journal` shows it. It is a value the caller owns.
type Record struct {
	// Snapshot is the transaction: its operations in Seq order, each with
	// its compensation, and, once committed, its outbox. Its State is the
	// last one written: pending or active for a transaction that never
	// ended (the host crashed), or the final state, which Resolve may set
	// after a crash.
	Snapshot tx.Snapshot `json:"snapshot"`
	// UpdatedAt is when the record last changed; Compact measures age from
	// it.
	UpdatedAt time.Time `json:"updated_at"`
	// Boot is the Journal.Boot of the process that began the transaction;
	// 0 in records written before boots were counted. A pending or active
	// record of the current boot belongs to a live transaction.
	Boot uint64 `json:"boot,omitempty"`
	// Published reports, for a committed transaction, that its outbox was
	// published: it was empty, or MarkPublished was called.
	Published bool `json:"published,omitempty"`
	// PublishedAt is when Published became true.
	PublishedAt time.Time `json:"published_at,omitzero"`
	// Recovered reports that the final state was set by Resolve, after a
	// crash or a retry, rather than by the transaction's own rollback.
	Recovered bool `json:"recovered,omitempty"`
	// Rollback lists what the last rollback did with each operation, newest
	// first; nil unless the state is rolled_back or failed.
	Rollback []RollbackOp `json:"rollback,omitempty"`
}

// RollbackOp is the journaled form of a tx.RollbackOp: what a rollback did
// with one operation.
type RollbackOp struct {
	Seq     int        `json:"seq"`
	Kind    string     `json:"kind"`
	Service string     `json:"service,omitempty"`
	Target  string     `json:"target,omitempty"`
	Outcome tx.Outcome `json:"outcome"`
	// Error is the message of the compensation's error when Outcome is
	// tx.OutcomeFailed. It is a string because an error value does not
	// survive a restart; the retry is a new Replay.
	Error string `json:"error,omitempty"`
}

// rollbackOps converts a Result's RollbackOperations.
func rollbackOps(ops []tx.RollbackOp) []RollbackOp {
	if ops == nil {
		return nil
	}
	out := make([]RollbackOp, len(ops))
	for i, r := range ops {
		out[i] = RollbackOp{Seq: r.Seq, Kind: r.Kind, Service: r.Service, Target: r.Target, Outcome: r.Outcome}
		if r.Err != nil {
			out[i].Error = r.Err.Error()
		}
	}
	return out
}

// Filter selects the records List returns. Its zero value selects all.
type Filter struct {
	// States keeps records in one of these states; empty means any.
	States []tx.State
	// Node keeps records of this effect node; empty means any.
	Node string
	// OperationID keeps records of this effect operation id (every attempt of
	// one request); empty means any.
	OperationID string
	// Limit is the most records returned; zero means no limit.
	Limit int
	// NewestFirst lists the newest records first (with Limit: the latest
	// ones); by default the oldest come first.
	NewestFirst bool
}

// Get returns the record of transaction id, with its operations and outbox.
// It returns an error wrapping ErrNotFound if there is none, ErrCorrupt if
// it cannot be decoded, or ErrClosed.
func (j *Journal) Get(id string) (Record, error) {
	var rec Record
	err := j.view(func(b *bolt.Tx) error {
		r, found, err := header(b, id)
		switch {
		case err != nil:
			return err
		case !found:
			return ErrNotFound
		}
		rec = r
		return load(b, &rec)
	})
	if err != nil {
		return Record{}, fmt.Errorf("journal: get %s: %w", id, err)
	}
	return rec, nil
}

// List returns the records f selects, with their operations (before-images
// included) and outboxes, oldest first (transaction IDs are time-ordered)
// unless f.NewestFirst.
// A record that cannot be decoded is left out and reported in the error,
// which then wraps ErrCorrupt while the slice still holds every intact
// record. It returns an error wrapping ErrClosed after Close.
func (j *Journal) List(f Filter) ([]Record, error) {
	return j.scan(f.NewestFirst, func(r Record) bool {
		return (len(f.States) == 0 || slices.Contains(f.States, r.Snapshot.State)) &&
			(f.Node == "" || f.Node == r.Snapshot.Node) &&
			(f.OperationID == "" || f.OperationID == r.Snapshot.OperationID)
	}, f.Limit)
}

// Incomplete returns the snapshots of the transactions to roll back after a
// crash: those the journal last saw pending or active and that an earlier
// boot began (a pending or active record of this Journal's own boot is a
// transaction still running in this process, whatever the time of the
// call), with their operations
// in Seq order and no outbox (events held by an uncommitted transaction are
// discarded). It returns them newest first, the order to roll them back in,
// so that where two transactions changed the same target the older
// before-image is restored last. Roll each back with Replay and record the
// outcome with Resolve, which removes it from this list. Errors are as for
// List.
func (j *Journal) Incomplete() ([]tx.Snapshot, error) {
	recs, err := j.scan(true, func(r Record) bool { return j.left(r) }, 0)
	snaps := make([]tx.Snapshot, len(recs))
	for i, r := range recs {
		snaps[i] = r.Snapshot
		snaps[i].Outbox = nil
	}
	return snaps, err
}

// Unpublished returns the snapshots of committed transactions whose outbox
// was not marked published, oldest first, with their operations and
// outbox. Publish each outbox again (delivery is at-least-once; the envelope
// ID is the idempotency key) and call MarkPublished. Errors are as for List.
func (j *Journal) Unpublished() ([]tx.Snapshot, error) {
	recs, err := j.scan(false, func(r Record) bool {
		return r.Snapshot.State == tx.StateCommitted && !r.Published
	}, 0)
	snaps := make([]tx.Snapshot, len(recs))
	for i, r := range recs {
		snaps[i] = r.Snapshot
	}
	return snaps, err
}

// left reports whether r is a transaction a crash left: not final, and begun
// by an earlier boot.
func (j *Journal) left(r Record) bool {
	return !r.Snapshot.State.Final() && r.Boot != j.boot
}

// scan returns the records keep selects, at most limit of them (zero means
// no limit), oldest first or, if newestFirst, newest first. Records that
// cannot be decoded are skipped and their errors joined.
func (j *Journal) scan(newestFirst bool, keep func(Record) bool, limit int) ([]Record, error) {
	recs := []Record{}
	var errs []error
	err := j.view(func(b *bolt.Tx) error {
		c := b.Bucket(bucketTx).Cursor()
		first, next := c.First, c.Next
		if newestFirst {
			first, next = c.Last, c.Prev
		}
		for k, v := first(); k != nil && (limit <= 0 || len(recs) < limit); k, v = next() {
			rec, err := decodeHeader(string(k), v)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !keep(rec) {
				continue
			}
			if err := load(b, &rec); err != nil {
				errs = append(errs, err)
				continue
			}
			recs = append(recs, rec)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("journal: list: %w", err)
	}
	return recs, errors.Join(errs...)
}

// MarkPublished records that the outbox of committed transaction id was
// published, so that Unpublished no longer returns it and Compact may
// remove it. Call it after tx.Tx.Commit returned without error, and after
// publishing an Unpublished outbox again. Marking a published transaction
// again does nothing.
//
// It returns an error wrapping ErrNotFound, ErrNotCommitted, ErrCorrupt or
// ErrClosed, or the error of writing.
func (j *Journal) MarkPublished(id string) error {
	now := j.opts.Now()
	err := j.update(func(b *bolt.Tx) error {
		rec, found, err := header(b, id)
		switch {
		case err != nil:
			return err
		case !found:
			return ErrNotFound
		case rec.Snapshot.State != tx.StateCommitted:
			return fmt.Errorf("%w (state %s)", ErrNotCommitted, rec.Snapshot.State)
		case rec.Published:
			return nil
		}
		rec.Published, rec.PublishedAt, rec.UpdatedAt = true, now, now
		return putHeader(b, rec)
	})
	if err != nil {
		return fmt.Errorf("journal: mark %s published: %w", id, err)
	}
	return nil
}

// Resolve records the outcome of rolling back transaction res.ID from the
// journal, usually the Result of Replay: its state becomes res.State
// (rolled_back or failed), with each operation's outcome, and it leaves
// Incomplete. A failed one stays in the journal, never compacted, until a
// later Resolve (after a successful retry of Replay) says rolled_back.
//
// It returns an error wrapping ErrInvalidResult if res has no ID or its
// State is neither rolled_back nor failed; ErrNotFound; tx.ErrCommitted for
// a committed transaction, which must not be rolled back; ErrLive for a
// pending or active transaction of this boot, which its owner still runs
// and ends itself; ErrCorrupt or
// ErrClosed; or the error of writing.
func (j *Journal) Resolve(res tx.Result) error {
	if res.ID == "" || (res.State != tx.StateRolledBack && res.State != tx.StateFailed) {
		return fmt.Errorf("journal: resolve %q: %w: state %s", res.ID, ErrInvalidResult, res.State)
	}
	now := j.opts.Now()
	err := j.update(func(b *bolt.Tx) error {
		rec, found, err := header(b, res.ID)
		switch {
		case err != nil:
			return err
		case !found:
			return ErrNotFound
		case rec.Snapshot.State == tx.StateCommitted:
			return tx.ErrCommitted
		case !rec.Snapshot.State.Final() && !j.left(rec):
			return ErrLive
		}
		rec.Snapshot.State = res.State
		rec.Snapshot.EndedAt = now
		rec.UpdatedAt = now
		rec.Recovered = true
		rec.Rollback = rollbackOps(res.RollbackOperations)
		return putHeader(b, rec)
	})
	if err != nil {
		return fmt.Errorf("journal: resolve %s: %w", res.ID, err)
	}
	return nil
}
