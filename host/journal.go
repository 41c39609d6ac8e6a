package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/onexhost/onex-host/host/internal/journal"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// journalFile is the write-ahead journal's file in Config.DataDir.
const journalFile = "journal.db"

// JournalRecord is one transaction as the journal holds it: its snapshot (operations
// with their before-images, outbox), whether its events were published, and what a
// recovery did with it.
type JournalRecord = journal.Record

// Recovery reports what Recover did.
type Recovery struct {
	// RolledBack counts transactions found open and rolled back from the journal.
	RolledBack int
	// Failed counts those whose rollback failed at least one compensation; they stay in
	// the journal (onex-host journal retry).
	Failed int
	// Republished counts committed transactions whose events were published again
	// (at least once: subscribers deduplicate by envelope id).
	Republished int
	// Errors describe each failure.
	Errors []string
}

// journalHolder opens the journal on first need and keeps the last recovery's report.
type journalHolder struct {
	// repair makes Recover and RetryRollback run one at a time, so that no compensation
	// runs twice at once.
	repair sync.Mutex

	mu       sync.Mutex // guards the fields below
	j        *journal.Journal
	closed   bool
	recovery Recovery
	// damage describes a journal file that could not be opened and was moved aside.
	damage string
}

// journalOf returns the host's journal, opening DataDir/journal.db on first use; nil (and
// no error) when DataDir is "" (effects are then protected only against failures the
// host sees, not against its own crash).
func (h *Host) journalOf() (*journal.Journal, error) {
	h.jh.mu.Lock()
	defer h.jh.mu.Unlock()
	switch {
	case h.jh.closed:
		return nil, ErrClosed
	case h.jh.j != nil:
		return h.jh.j, nil
	case h.cfg.DataDir == "":
		return nil, nil
	}
	if err := os.MkdirAll(h.cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("host: journal: %w", err)
	}
	path := filepath.Join(h.cfg.DataDir, journalFile)
	opts := journal.Options{Logger: h.cfg.Logger}
	j, err := journal.Open(path, opts)
	if err != nil && !errors.Is(err, journal.ErrLocked) && !errors.Is(err, journal.ErrInvalidOptions) {
		// A damaged file (truncated, overwritten) is kept for inspection, not deleted,
		// and the host starts with a fresh journal rather than refusing every effect.
		aside := fmt.Sprintf("%s.damaged-%d", path, time.Now().Unix())
		if rerr := os.Rename(path, aside); rerr == nil {
			h.jh.damage = fmt.Sprintf("the journal %s could not be read (%v); it was moved to %s and a new one started: "+
				"effects interrupted before this start cannot be rolled back automatically", path, err, aside)
			h.cfg.Logger.Error("journal damaged", "path", path, "moved_to", aside, "error", err)
			j, err = journal.Open(path, opts)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("host: journal: %w", err)
	}
	h.jh.j = j
	return j, nil
}

// openJournal is journalOf for the effect-node path: it opens the journal before the
// node's first transaction begins.
func (h *Host) openJournal() error {
	_, err := h.journalOf()
	return err
}

// current returns the journal if it is open.
func (h *Host) currentJournal() *journal.Journal {
	h.jh.mu.Lock()
	defer h.jh.mu.Unlock()
	return h.jh.j
}

// closeJournal closes the journal; later effects cannot open it again.
func (h *Host) closeJournal() error {
	h.jh.mu.Lock()
	defer h.jh.mu.Unlock()
	h.jh.closed = true
	if h.jh.j == nil {
		return nil
	}
	j := h.jh.j
	h.jh.j = nil
	return j.Close()
}

// journalObserver forwards the transaction manager's events to the journal once it is
// open: every operation is on disk before it runs.
type journalObserver struct{ h *Host }

func (o journalObserver) OnBegin(t *tx.Tx) {
	if j := o.h.currentJournal(); j != nil {
		j.OnBegin(t)
	}
}

func (o journalObserver) OnRecord(t *tx.Tx, op tx.Operation) error {
	if j := o.h.currentJournal(); j != nil {
		return j.OnRecord(t, op)
	}
	return nil
}

func (o journalObserver) OnStateChange(t *tx.Tx, from, to tx.State) {
	if j := o.h.currentJournal(); j != nil {
		j.OnStateChange(t, from, to)
	}
}

// markPublished records that a committed transaction's events went out.
func (h *Host) markPublished(id string) {
	if j := h.currentJournal(); j != nil {
		if err := j.MarkPublished(id); err != nil && !errors.Is(err, journal.ErrNotFound) {
			h.cfg.Logger.Warn("journal: mark published", "transaction_id", id, "error", err)
		}
	}
}

// Recover finishes what a crash interrupted, from the journal in DataDir: every
// transaction an earlier process left open is rolled back (newest first, every
// compensation tried; guest and HTTP compensations need their plugins loaded, so load the
// nodes first), and the events of committed transactions that may not have gone out are
// published again. The transactions of effects running in this process are never
// touched, whenever Recover is called: each journal record carries the boot (the number
// of the journal's open) that began it, and only records of earlier boots count as left
// by a crash. Call it after loading the nodes and before serving effects, so that an
// effect does not run on state a crash left half-changed; `onex-host serve` and `run`
// do. It does nothing without a DataDir.
func (h *Host) Recover(ctx context.Context) (Recovery, error) {
	var r Recovery
	j, err := h.journalOf()
	if j == nil || err != nil {
		return r, err
	}
	h.jh.repair.Lock()
	defer h.jh.repair.Unlock()
	h.jh.mu.Lock()
	if h.jh.damage != "" {
		r.Errors = append(r.Errors, h.jh.damage)
	}
	h.jh.mu.Unlock()
	// A damaged record is reported; every intact one is still recovered.
	open, err := j.Incomplete()
	if err != nil && !errors.Is(err, journal.ErrCorrupt) {
		return r, fmt.Errorf("host: recover: %w", err)
	} else if err != nil {
		r.Errors = append(r.Errors, err.Error())
		h.cfg.Logger.Error("journal: damaged records were skipped", "error", err)
	}
	for _, snap := range open {
		res, rerr := journal.Replay(ctx, snap, h.compensators(), 0)
		if err := j.Resolve(res); err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("transaction %s: record the recovery: %v", snap.ID, err))
		}
		if rerr != nil || res.State == tx.StateFailed {
			r.Failed++
			r.Errors = append(r.Errors, fmt.Sprintf("transaction %s (node %s): %v", snap.ID, snap.Node, rerr))
		} else {
			r.RolledBack++
		}
		h.cfg.Logger.Warn("recovered an interrupted effect", "transaction_id", snap.ID, "node", snap.Node,
			"operations", len(snap.Operations), "state", res.State, "error", rerr)
	}
	unpublished, err := j.Unpublished()
	if err != nil && !errors.Is(err, journal.ErrCorrupt) {
		return r, fmt.Errorf("host: recover: %w", err)
	}
	for _, snap := range unpublished {
		var perr error
		for _, e := range snap.Outbox {
			if perr = h.bus.Publish(ctx, e); perr != nil {
				break
			}
		}
		if perr != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("transaction %s: publish: %v", snap.ID, perr))
			continue
		}
		h.markPublished(snap.ID)
		r.Republished++
	}
	h.jh.mu.Lock()
	h.jh.recovery = r
	h.jh.mu.Unlock()
	if r.RolledBack+r.Failed+r.Republished > 0 {
		h.cfg.Logger.Warn("recovery", "rolled_back", r.RolledBack, "failed", r.Failed, "republished", r.Republished)
	}
	return r, nil
}

// LastRecovery returns what the last Recover did.
func (h *Host) LastRecovery() Recovery {
	h.jh.mu.Lock()
	defer h.jh.mu.Unlock()
	return h.jh.recovery
}

// JournalFilter selects the journal records JournalRecords returns. Its zero value
// selects all.
type JournalFilter struct {
	// States keeps records in one of these states ("pending", "active", "committed",
	// "rolled_back", "failed"); empty means any.
	States []string
	// Node keeps the records of this effect node; empty means any.
	Node string
	// OperationID keeps the records of this effect operation id (one per attempt); empty
	// means any. Records written before operation ids were journaled have none.
	OperationID string
	// Limit is the most records returned (the newest); zero means no limit.
	Limit int
}

// JournalRecords lists the journal's transactions that f selects, newest first, with
// their operations (before-images included) and outboxes. It only reads: it is safe while
// effects run, and the records of running effects show as pending or active. It returns
// an error wrapping ErrInvalidInput for an unknown state, ErrNoJournal when there is no
// journal (Config.DataDir is ""), or the journal's error (wrapping journal.ErrCorrupt,
// with every intact record, when some record cannot be decoded).
func (h *Host) JournalRecords(f JournalFilter) ([]JournalRecord, error) {
	jf := journal.Filter{Node: f.Node, OperationID: f.OperationID, Limit: f.Limit, NewestFirst: true}
	for _, s := range f.States {
		var st tx.State
		if err := st.UnmarshalText([]byte(s)); err != nil {
			return nil, fmt.Errorf("host: journal: %w: %w", ErrInvalidInput, err)
		}
		jf.States = append(jf.States, st)
	}
	j, err := h.journalOf()
	if j == nil || err != nil {
		return nil, orNoJournal(err)
	}
	return j.List(jf)
}

// JournalRecord returns one transaction of the journal.
func (h *Host) JournalRecord(id string) (JournalRecord, error) {
	j, err := h.journalOf()
	if j == nil || err != nil {
		return JournalRecord{}, orNoJournal(err)
	}
	return j.Get(id)
}

// RetryRollback runs again, for a transaction whose rollback failed, the compensations
// that failed, and only those (an operation already compensated is left alone: restoring
// its before-image again would erase what was committed over it since), and records the
// outcome: the record becomes rolled_back once every compensation has succeeded. Guest
// and HTTP compensations need their plugins loaded. Retries and Recover run one at a time.
// It blocks until the compensations have returned.
//
// It returns ErrTransactionOpen for a pending or active record (a live effect, or one
// Recover has yet to roll back), an error for a committed or rolled-back one, the
// journal's error (journal.ErrNotFound for an unknown id), or the failed compensations'
// errors joined; the record is returned as the journal holds it afterwards.
func (h *Host) RetryRollback(ctx context.Context, id string) (JournalRecord, error) {
	j, err := h.journalOf()
	if j == nil || err != nil {
		return JournalRecord{}, orNoJournal(err)
	}
	h.jh.repair.Lock()
	defer h.jh.repair.Unlock()
	rec, err := j.Get(id)
	if err != nil {
		return JournalRecord{}, err
	}
	switch s := rec.Snapshot.State; {
	case !s.Final():
		return rec, fmt.Errorf("host: retry %s: %w (state %s)", id, ErrTransactionOpen, s)
	case s != tx.StateFailed:
		return rec, fmt.Errorf("host: retry %s: the transaction is %s: nothing to roll back", id, s)
	}
	res, rerr := journal.ReplayFailed(ctx, rec, h.compensators(), 0)
	if err := j.Resolve(res); err != nil {
		return rec, err
	}
	rec, err = j.Get(id)
	if err == nil {
		err = rerr
	}
	return rec, err
}

// CompactJournal deletes finished records older than olderThan (committed and
// published, or rolled back); failed ones stay until a retry resolves them.
func (h *Host) CompactJournal(olderThan time.Duration) (int, error) {
	j, err := h.journalOf()
	if j == nil || err != nil {
		return 0, orNoJournal(err)
	}
	return j.Compact(olderThan)
}

func orNoJournal(err error) error {
	if err != nil {
		return err
	}
	return ErrNoJournal
}

// StageEffectAnswer records answer (JSON) as what effect node's operation operationID,
// running in transaction txID, answers if it commits: the journal writes it in the very
// write that is the transaction's commit point, so that after any crash it exists if and
// only if the effect committed; a rollback drops it. Call it from an effect commit guard
// (package host/effect), which runs before the commit. It returns ErrNoJournal without a
// DataDir, or the journal's error.
func (h *Host) StageEffectAnswer(txID, node, operationID string, answer []byte) error {
	j, err := h.journalOf()
	if j == nil || err != nil {
		return orNoJournal(err)
	}
	return j.StageAnswer(txID, node, operationID, answer)
}

// EffectAnswer returns the answer recorded (StageEffectAnswer) when node's effect with
// operationID committed, a copy, and the committing transaction's id; found is false when
// none is (it never committed with an answer, or the journal compacted it). It returns
// ErrNoJournal without a DataDir, or the journal's error.
func (h *Host) EffectAnswer(node, operationID string) (answer []byte, txID string, found bool, err error) {
	j, err := h.journalOf()
	if j == nil || err != nil {
		return nil, "", false, orNoJournal(err)
	}
	return j.Answer(node, operationID)
}

// ReplaceEffectAnswer replaces the recorded answer of node's operationID, if transaction
// txID recorded it, with answer: the effect's final reply, once it has returned, in place
// of the one staged before its commit. It returns ErrNoJournal without a DataDir, or the
// journal's error.
func (h *Host) ReplaceEffectAnswer(txID, node, operationID string, answer []byte) error {
	j, err := h.journalOf()
	if j == nil || err != nil {
		return orNoJournal(err)
	}
	return j.ReplaceAnswer(txID, node, operationID, answer)
}
