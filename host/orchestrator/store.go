package orchestrator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/boltgroup"
	bolt "go.etcd.io/bbolt"
)

// Bucket layout (one bbolt file, <data_dir>/workflows.db):
//
//	workflows: workflow id → record JSON (the whole state of one workflow)
//
// A workflow's record is rewritten whole at each state change, in one transaction
// (shared with other workflows' changes by the group committer). Records are small (a
// few steps); rewriting one keeps every change atomic: a result, the planner decision it
// led to and the attempts that decision starts land together or not at all.
var bucketWorkflows = []byte("workflows")

// record is what the store keeps per workflow.
type record struct {
	// rev is the store revision this record was read or written at (Store's fencing
	// token; 0 in the local file).
	rev       uint64
	ID        string             `json:"id"`
	Workflow  string             `json:"workflow"`
	Status    abi.WorkflowStatus `json:"status"`
	Input     json.RawMessage    `json:"input"`
	Output    json.RawMessage    `json:"output,omitempty"`
	Error     string             `json:"error,omitempty"`
	Memo      json.RawMessage    `json:"memo"`
	Steps     []stepRecord       `json:"steps"`
	CreatedAt time.Time          `json:"created_at"`
	UpdatedAt time.Time          `json:"updated_at"`
	EndedAt   time.Time          `json:"ended_at,omitzero"`
	Deadline  time.Time          `json:"deadline"`
	// NeedPlan: a step ended (or the workflow started) since the last decision.
	NeedPlan bool `json:"need_plan,omitempty"`
	// Ending is set once the workflow is decided to end; it is carried out (running
	// steps cancelled, compensations run) and then the status becomes final.
	Ending *ending `json:"ending,omitempty"`
	// DoneSeq numbers step completions (stepRecord.Done), for compensation order.
	DoneSeq int `json:"done_seq,omitempty"`
}

type ending struct {
	Status     abi.WorkflowStatus `json:"status"`
	Output     json.RawMessage    `json:"output,omitempty"`
	Error      string             `json:"error,omitempty"`
	Compensate bool               `json:"compensate,omitempty"`
	// Ask: Compensate is still to be decided by asking the planner (Cancel, timeout).
	Ask bool `json:"ask,omitempty"`
	// StepError is what running steps end with: kind "cancelled" or "timeout".
	StepError *abi.StepError `json:"step_error,omitempty"`
}

type stepRecord struct {
	abi.StepState
	StartedAt    time.Time `json:"started_at,omitzero"`
	EndedAt      time.Time `json:"ended_at,omitzero"`
	Due          time.Time `json:"due,omitzero"` // scheduled for a retry: not before
	Done         int       `json:"done,omitempty"`
	Compensation string    `json:"compensation,omitempty"`
	CompAttempts int       `json:"comp_attempts,omitempty"`
}

// Store keeps the engine's workflow records: one per workflow, an opaque JSON document
// rewritten whole at each change. Open uses a bbolt file; a Store shared by the engines
// of several hosts (host/cluster's Workflows) lets them take over each other's
// workflows. Every method may be called from many goroutines at once.
//
// Revisions fence writers: Create, Get and Scan answer each record's revision, and Put
// writes only if the record is still at the revision its writer last read or wrote,
// answering ErrLost otherwise; a writer that lost can never overwrite a newer record.
// A Store that is not shared may answer revision 0 throughout.
type Store interface {
	// Create writes rec under id unless a record with that id exists: then it returns
	// that record and its revision, with created false.
	Create(ctx context.Context, id string, rec []byte) (old []byte, rev uint64, created bool, err error)
	// Put replaces id's record if it is still at revision rev and returns the new
	// revision. ErrLost: it changed since, or this engine may no longer write it.
	Put(ctx context.Context, id string, rev uint64, rec []byte) (uint64, error)
	// Get returns id's record and its revision; ErrNotFound when there is none.
	Get(ctx context.Context, id string) ([]byte, uint64, error)
	// Scan calls fn for each record with an id after after, in id order, until fn
	// returns false.
	Scan(ctx context.Context, after string, fn func(id string, rec []byte, rev uint64) bool) error
	// Claim reports whether this engine is to run workflow id now (a shared store: it
	// owns it). A local store always claims.
	Claim(ctx context.Context, id string) (bool, error)
	// Control asks the engine running id (not this one: Claim said no) to apply op —
	// "pause", "resume" or "cancel" — and returns the workflow as that engine answered.
	Control(ctx context.Context, id, op string) (Workflow, error)
	// Close releases the store. The engine closes it in Close.
	Close() error
}

// boltStore is the local Store: a bbolt file.
type boltStore struct {
	db    *bolt.DB
	group *boltgroup.Committer
}

// OpenFile opens (creating, mode 0600) the local Store at path, a bbolt file:
// Open(path, cfg) uses it. noSync skips fsyncs (Config.NoSync). Errors: the file
// cannot be opened, locked (5 s: another process holds it — a serve, probably) or
// initialised.
func OpenFile(path string, noSync bool) (Store, error) {
	return openStore(path, noSync)
}

func openStore(path string, noSync bool) (*boltStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("orchestrator: open %s: the file is locked by another process (a running onex-host serve on this data directory, probably): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("orchestrator: open %s: %w", path, err)
	}
	db.NoSync = noSync
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketWorkflows)
		return err
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("orchestrator: open %s: %w", path, err)
	}
	return &boltStore{db: db, group: boltgroup.New(db, 256)}, nil
}

func (s *boltStore) Close() error {
	s.group.Close()
	return s.db.Close()
}

func (s *boltStore) update(fn func(*bolt.Tx) error) error {
	err := s.group.Update(fn)
	if errors.Is(err, boltgroup.ErrClosed) {
		return ErrClosed
	}
	return err
}

func (s *boltStore) Put(_ context.Context, id string, _ uint64, b []byte) (uint64, error) {
	return 0, s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketWorkflows).Put([]byte(id), b) })
}

func (s *boltStore) Create(_ context.Context, id string, b []byte) ([]byte, uint64, bool, error) {
	var old []byte
	err := s.update(func(tx *bolt.Tx) error {
		old = nil
		bk := tx.Bucket(bucketWorkflows)
		if v := bk.Get([]byte(id)); v != nil {
			old = bytes.Clone(v)
			return nil
		}
		return bk.Put([]byte(id), b)
	})
	return old, 0, err == nil && old == nil, err
}

func (s *boltStore) Get(_ context.Context, id string) ([]byte, uint64, error) {
	var b []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketWorkflows).Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		b = bytes.Clone(v)
		return nil
	})
	return b, 0, err
}

func (s *boltStore) Scan(_ context.Context, after string, fn func(string, []byte, uint64) bool) error {
	return s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketWorkflows).Cursor()
		k, v := c.First()
		if after != "" {
			k, v = c.Seek([]byte(after))
			if k != nil && bytes.Equal(k, []byte(after)) {
				k, v = c.Next()
			}
		}
		for ; k != nil; k, v = c.Next() {
			if !fn(string(k), v, 0) {
				return nil
			}
		}
		return nil
	})
}

func (s *boltStore) Claim(context.Context, string) (bool, error) { return true, nil }

func (s *boltStore) Control(_ context.Context, id, _ string) (Workflow, error) {
	return Workflow{}, fmt.Errorf("%w: %q", ErrFinished, id) // not run here: no definition
}

// store is the engine's typed view of its Store.
type store struct{ s Store }

// put writes r (its revision advanced on success).
func (s store) put(ctx context.Context, r *record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("orchestrator: encode workflow %q: %w", r.ID, err)
	}
	rev, err := s.s.Put(ctx, r.ID, r.rev, b)
	if err != nil {
		return fmt.Errorf("orchestrator: write workflow %q: %w", r.ID, err)
	}
	r.rev = rev
	return nil
}

// create writes r unless a record with its id exists; then it returns that one.
func (s store) create(ctx context.Context, r *record) (*record, bool, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, false, fmt.Errorf("orchestrator: encode workflow %q: %w", r.ID, err)
	}
	old, rev, created, err := s.s.Create(ctx, r.ID, b)
	if err != nil {
		return nil, false, fmt.Errorf("orchestrator: create workflow %q: %w", r.ID, err)
	}
	if !created {
		o, err := decodeRecord(r.ID, old, rev)
		return o, false, err
	}
	r.rev = rev
	return r, true, nil
}

func (s store) get(ctx context.Context, id string) (*record, error) {
	b, rev, err := s.s.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("orchestrator: workflow %q: %w", id, err)
	}
	return decodeRecord(id, b, rev)
}

// scan calls fn for each record with an id after after, in id order, until fn returns
// false.
func (s store) scan(ctx context.Context, after string, fn func(*record) bool) error {
	var derr error
	err := s.s.Scan(ctx, after, func(id string, b []byte, rev uint64) bool {
		r, err := decodeRecord(id, b, rev)
		if err != nil {
			derr = err
			return false
		}
		return fn(r)
	})
	if err == nil {
		err = derr
	}
	return err
}

func decodeRecord(id string, b []byte, rev uint64) (*record, error) {
	r := new(record)
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("orchestrator: workflow %q: corrupt record: %w", id, err)
	}
	r.rev = rev
	return r, nil
}
