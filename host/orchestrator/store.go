package orchestrator

import (
	"bytes"
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

type store struct {
	db    *bolt.DB
	group *boltgroup.Committer
}

func openStore(path string, noSync bool) (*store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
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
	return &store{db: db, group: boltgroup.New(db, 256)}, nil
}

func (s *store) close() error {
	s.group.Close()
	return s.db.Close()
}

func (s *store) update(fn func(*bolt.Tx) error) error {
	err := s.group.Update(fn)
	if errors.Is(err, boltgroup.ErrClosed) {
		return ErrClosed
	}
	return err
}

// put writes r durably (unless NoSync).
func (s *store) put(r *record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("orchestrator: encode workflow %q: %w", r.ID, err)
	}
	if err := s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketWorkflows).Put([]byte(r.ID), b) }); err != nil {
		return fmt.Errorf("orchestrator: write workflow %q: %w", r.ID, err)
	}
	return nil
}

// create writes r unless a record with its id exists; then it returns that one.
func (s *store) create(r *record) (*record, bool, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, false, fmt.Errorf("orchestrator: encode workflow %q: %w", r.ID, err)
	}
	var old *record
	err = s.update(func(tx *bolt.Tx) error {
		old = nil
		bk := tx.Bucket(bucketWorkflows)
		if v := bk.Get([]byte(r.ID)); v != nil {
			old = new(record)
			return json.Unmarshal(v, old)
		}
		return bk.Put([]byte(r.ID), b)
	})
	if err != nil {
		return nil, false, fmt.Errorf("orchestrator: create workflow %q: %w", r.ID, err)
	}
	if old != nil {
		return old, false, nil
	}
	return r, true, nil
}

func (s *store) get(id string) (*record, error) {
	var r *record
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketWorkflows).Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		r = new(record)
		return json.Unmarshal(v, r)
	})
	if err != nil {
		return nil, fmt.Errorf("orchestrator: workflow %q: %w", id, err)
	}
	return r, nil
}

// scan calls fn for each record with an id after after, in id order, until fn returns
// false.
func (s *store) scan(after string, fn func(*record) bool) error {
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
			r := new(record)
			if err := json.Unmarshal(v, r); err != nil {
				return fmt.Errorf("orchestrator: workflow %q: corrupt record: %w", k, err)
			}
			if !fn(r) {
				return nil
			}
		}
		return nil
	})
}
