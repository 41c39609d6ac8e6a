package reducer

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FailedIntent is an outbox entry whose Carry failed permanently (ErrPermanent). It is
// no longer in the outbox; RetryFailed puts it back.
type FailedIntent struct {
	Entry OutboxEntry `json:"entry"`
	Error string      `json:"error"` // the Carry's error text
	Time  time.Time   `json:"time"`  // when it failed (Config.Now)
}

// fail moves e from the outbox to the failed intents, in one transaction.
func (s *Store) fail(e OutboxEntry, cause error) error {
	b, err := json.Marshal(FailedIntent{Entry: e, Error: cause.Error(), Time: s.cfg.Now()})
	if err != nil {
		return fmt.Errorf("reducer: encode failed intent: %w", err)
	}
	err = s.update(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bucketOutboxID)
		if n := idx.Get([]byte(e.OperationID)); n != nil {
			if err := tx.Bucket(bucketOutbox).Delete(n); err != nil {
				return err
			}
			if err := idx.Delete([]byte(e.OperationID)); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketFailed).Put([]byte(e.OperationID), b)
	})
	if err != nil {
		return fmt.Errorf("reducer: record failed intent %s: %w", e.OperationID, err)
	}
	return nil
}

// FailedIntents lists the failed intents produced by reducer node (all nodes when node
// is ""), ordered by operation id. Errors: ErrClosed, or a corrupt record.
func (s *Store) FailedIntents(node string) ([]FailedIntent, error) {
	var out []FailedIntent
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFailed).ForEach(func(_, v []byte) error {
			var f FailedIntent
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("%w: failed intent: %v", errCorrupt, err)
			}
			if node == "" || f.Entry.Reducer == node {
				out = append(out, f)
			}
			return nil
		})
	})
	return out, err
}

// RetryFailed moves the failed intent with operation id opID back to the end of the
// outbox (same operation id, so the effect still sees it once) and wakes the
// dispatcher. Errors: ErrNotFound when there is no such failed intent, ErrClosed.
func (s *Store) RetryFailed(opID string) error {
	err := s.update(func(tx *bolt.Tx) error {
		fb := tx.Bucket(bucketFailed)
		v := fb.Get([]byte(opID))
		if v == nil {
			return fmt.Errorf("%w: no failed intent %q", ErrNotFound, opID)
		}
		var f FailedIntent
		if err := json.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("%w: failed intent: %v", errCorrupt, err)
		}
		e, err := json.Marshal(f.Entry)
		if err != nil {
			return err
		}
		ob := tx.Bucket(bucketOutbox)
		n, err := ob.NextSequence()
		if err != nil {
			return err
		}
		if err := ob.Put(u64(n), e); err != nil {
			return err
		}
		if err := tx.Bucket(bucketOutboxID).Put([]byte(opID), u64(n)); err != nil {
			return err
		}
		return fb.Delete([]byte(opID))
	})
	if err != nil {
		return fmt.Errorf("reducer: retry failed intent %s: %w", opID, err)
	}
	s.signalOutbox()
	return nil
}
