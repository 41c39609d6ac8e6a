package reducer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/onexhost/onex-host/abi"
	bolt "go.etcd.io/bbolt"
)

// applied is one folded event ready to be made durable.
type applied struct {
	node, key string
	event     abi.ReduceEvent
	prev      uint64 // the sequence the fold read; the event gets prev+1
	state     []byte
	intents   []abi.Intent
}

// OutboxEntry is one intent not yet carried out.
type OutboxEntry struct {
	OperationID string     `json:"operation_id"` // abi.IntentOperationID(Reducer, Key, Sequence, Index)
	Reducer     string     `json:"reducer"`      // the reducer node that produced it
	Key         string     `json:"key"`
	Sequence    uint64     `json:"sequence"`
	Index       int        `json:"index"`
	Intent      abi.Intent `json:"intent"`
}

// commitApplied writes, in one transaction: the new state and sequence, the event id's
// dedupe record (pruning the key's old ones every DedupeWindow events), one outbox entry per
// intent, and removes the event's dead letter if it had one. It checks before its first
// write that the key is still at a.prev and the event id unseen, else ErrConflict.
//
// Crash order: everything is one bbolt transaction, so after a crash either all of it
// is on disk or none; a caller that got no answer redelivers the event id and gets the
// recorded sequence (Duplicate) or a fresh apply — never both.
func (s *Store) commitApplied(a applied) error {
	seq := a.prev + 1
	nk := nodeKey(a.node, a.key)
	entries := make([][]byte, len(a.intents))
	opIDs := make([]string, len(a.intents))
	for i, in := range a.intents {
		opIDs[i] = abi.IntentOperationID(a.node, a.key, seq, i)
		b, err := json.Marshal(OutboxEntry{OperationID: opIDs[i], Reducer: a.node, Key: a.key, Sequence: seq, Index: i, Intent: in})
		if err != nil {
			return fmt.Errorf("reducer: encode intent %d: %w", i, err)
		}
		entries[i] = b
	}
	window := uint64(s.cfg.DedupeWindow)
	err := s.update(func(tx *bolt.Tx) error {
		cur, err := readState(tx, nk)
		if err != nil {
			return err
		}
		if cur.Sequence != a.prev || seenSeq(tx, nk, a.event.EventID) != 0 {
			return fmt.Errorf("%w: node %s key %q at sequence %d, expected %d", ErrConflict, a.node, a.key, cur.Sequence, a.prev)
		}
		val := make([]byte, 8, 8+len(a.state))
		binary.BigEndian.PutUint64(val, seq)
		if err := tx.Bucket(bucketState).Put(nk, append(val, a.state...)); err != nil {
			return err
		}
		seen := tx.Bucket(bucketSeen)
		if err := seen.Put(join(nk, []byte(a.event.EventID)), u64(seq)); err != nil {
			return err
		}
		if seq%window == 0 && seq > window {
			if err := pruneSeen(seen, nk, seq-window); err != nil {
				return err
			}
		}
		ob, obi := tx.Bucket(bucketOutbox), tx.Bucket(bucketOutboxID)
		for i, e := range entries {
			n, err := ob.NextSequence()
			if err != nil {
				return err
			}
			if err := ob.Put(u64(n), e); err != nil {
				return err
			}
			if err := obi.Put([]byte(opIDs[i]), u64(n)); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketDead).Delete(join(nk, []byte(a.event.EventID)))
	})
	if err != nil {
		return fmt.Errorf("reducer: commit node %s key %q event %q: %w", a.node, a.key, a.event.EventID, err)
	}
	if len(entries) > 0 {
		s.signalOutbox()
	}
	return nil
}

// pruneSeen deletes nk's dedupe records of events with sequence ≤ upTo. commitApplied
// calls it when a key's sequence reaches a multiple of the window W (upTo = seq − W), so
// a key always remembers at least its last W event ids and at most 2W − 1. Pruning in
// one pass every W events, instead of one record per event, keeps an event's commit to
// two writes (state and id) — one dirty page fewer per event, which is most of group
// commit's cost (BENCHMARKS.md, "Reducer group commit").
func pruneSeen(seen *bolt.Bucket, nk []byte, upTo uint64) error {
	var old [][]byte
	c := seen.Cursor()
	for k, v := c.Seek(nk); k != nil && bytes.HasPrefix(k, nk); k, v = c.Next() {
		if len(v) == 8 && binary.BigEndian.Uint64(v) <= upTo {
			old = append(old, bytes.Clone(k))
		}
	}
	for _, k := range old {
		if err := seen.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
