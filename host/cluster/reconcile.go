package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/internal/journal"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// Journal is what Reconcile reads of this host's journal; *host.Host implements it.
type Journal interface {
	// JournalRecord returns one transaction of the journal, or an error wrapping the
	// journal's not-found error.
	JournalRecord(id string) (host.JournalRecord, error)
}

// Reconciled reports what Reconcile did.
type Reconciled struct {
	// Finalised counts committing records whose transaction the journal committed: they
	// are done now, answering repeats with the output recorded before the commit.
	Finalised int
	// Deleted counts records of effects that did not commit (rolled back, or never
	// journaled), so that their operation ids may run again.
	Deleted int
	// Left counts records of this host left as they were: their transaction is still
	// open in the journal, or the write failed (see the error).
	Left int
}

// Reconcile settles the records a crash of this host left unfinished, from its journal
// j: a committing record whose transaction j committed becomes done; one whose
// transaction j rolled back (or failed to roll back) is deleted; a committing or running
// record of this host (by HostID) whose transaction j does not hold changed nothing
// durable and is deleted. Records of effects running in this process and of other hosts
// are left alone. Run it at start, after the journal's recovery (host.Recover) and before
// serving; running it later is safe.
//
// It reads every record in the bucket (the records of the last Retention), once.
func (r *EffectRecords) Reconcile(ctx context.Context, j Journal) (Reconciled, error) {
	var res Reconciled
	w, err := r.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return res, fmt.Errorf("cluster: reconcile the effect records: %w", err)
	}
	defer func() { _ = w.Stop() }()
	type found struct {
		key string
		rev uint64
		rec effectRecord
	}
	var open []found
	for entry := range w.Updates() {
		if entry == nil {
			break // every record present was delivered
		}
		var rec effectRecord
		if json.Unmarshal(entry.Value(), &rec) != nil || rec.State == stateDone {
			continue
		}
		if _, running := r.live.Load(rec.Run); running && rec.Run != "" {
			continue
		}
		open = append(open, found{entry.Key(), entry.Revision(), rec})
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("cluster: reconcile the effect records: %w", err)
	}
	var errs []error
	for _, f := range open {
		var final []byte            // nil: delete
		state := tx.StateRolledBack // not journaled: it changed nothing durable
		if f.rec.TxID != "" {
			jr, err := j.JournalRecord(f.rec.TxID)
			switch {
			case err == nil:
				state = jr.Snapshot.State
			case !errors.Is(err, journal.ErrNotFound):
				errs = append(errs, fmt.Errorf("record %s: %w", f.key, err))
				res.Left++
				continue
			case f.rec.Host != r.host:
				continue // another host's transaction
			}
		} else if f.rec.Host != r.host {
			continue // another host's effect, still running or expiring
		}
		switch {
		case state == tx.StateCommitted:
			final, _ = json.Marshal(effectRecord{State: stateDone, Host: f.rec.Host, Run: f.rec.Run, Status: f.rec.Status, Body: f.rec.Body})
		case !state.Final():
			res.Left++ // still open: the journal's recovery has not run
			continue
		}
		if _, err := r.put(ctx, f.key, f.rec.Run, f.rev, final, 0); err != nil && !errors.Is(err, errLost) {
			errs = append(errs, fmt.Errorf("record %s: %w", f.key, err))
			res.Left++
			continue
		}
		if final != nil {
			res.Finalised++
		} else {
			res.Deleted++
		}
		r.log.Info("effect record reconciled", "key", f.key, "transaction_id", f.rec.TxID, "journal", state, "done", final != nil)
	}
	return res, errors.Join(errs...)
}
