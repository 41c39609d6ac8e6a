package reducer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/onexhost/onex-host/abi"
	bolt "go.etcd.io/bbolt"
)

// DeadLetter is an event whose fold failed. The key's state was left as it was; Retry
// applies the event again and, when that succeeds, removes the dead letter in the same
// transaction.
type DeadLetter struct {
	Node  string          `json:"node"`
	Key   string          `json:"key"`
	Event abi.ReduceEvent `json:"event"`
	Error string          `json:"error"` // the fold's error text, as persisted
	Time  time.Time       `json:"time"`  // when it last failed (Config.Now)
}

// putDeadLetter records (or updates, for a repeated failure) d.
func (s *Store) putDeadLetter(d DeadLetter) error {
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("reducer: encode dead letter: %w", err)
	}
	k := join(nodeKey(d.Node, d.Key), []byte(d.Event.EventID))
	err = s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketDead).Put(k, b) })
	if err != nil {
		return fmt.Errorf("reducer: record dead letter node %s key %q event %q: %w", d.Node, d.Key, d.Event.EventID, err)
	}
	return nil
}

// DeadLetters lists node's dead letters ordered by key, then event id. Errors:
// ErrClosed, or a corrupt record.
func (s *Store) DeadLetters(node string) ([]DeadLetter, error) {
	var out []DeadLetter
	prefix := nodePrefix(node)
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDead).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var d DeadLetter
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("%w: dead letter: %v", errCorrupt, err)
			}
			if d.Node == node { // the prefix also matches nothing else, but be exact
				out = append(out, d)
			}
		}
		return nil
	})
	return out, err
}

// deadLetter returns the dead letter of (node, key, eventID), or ErrNotFound.
func (s *Store) deadLetter(node, key, eventID string) (DeadLetter, error) {
	var d DeadLetter
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDead).Get(join(nodeKey(node, key), []byte(eventID)))
		if v == nil {
			return fmt.Errorf("%w: node %s key %q event %q", ErrNotFound, node, key, eventID)
		}
		return json.Unmarshal(v, &d)
	})
	return d, err
}
