package journal

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// An answer is what an effect answered when it committed, kept by node and operation id
// so that the host answers a repeat of the operation id from it instead of running the
// effect again (local exactly-once). It is staged in memory before the commit
// (StageAnswer) and written by OnStateChange in the very write that is the transaction's
// commit point: after a crash the answer exists if and only if the commit does, so no
// window remains between the two. A transaction that rolls back drops its staged answer.

// stagedAnswer is an answer waiting for its transaction's commit.
type stagedAnswer struct {
	key  []byte
	body []byte
}

// answerRecord is the value of bucketAnswer.
type answerRecord struct {
	TxID string    `json:"tx_id"`
	At   time.Time `json:"at"`
	// Body is the answer's bytes exactly (a string: json.RawMessage would be compacted).
	Body string `json:"body"`
}

// answerKey is node 0x00 operationID (a node name has no NUL).
func answerKey(node, operationID string) []byte {
	k := make([]byte, 0, len(node)+1+len(operationID))
	k = append(k, node...)
	k = append(k, 0)
	return append(k, operationID...)
}

// StageAnswer keeps body, the answer of effect node's operation operationID run in
// transaction txID, until that transaction reaches a final state: its commit writes the
// answer in the same write as the commit (Answer then returns it), and a rollback drops
// it. Staging again for the same txID replaces the answer. body must be JSON; the
// journal keeps its own copy. It returns an error wrapping ErrClosed after Close.
func (j *Journal) StageAnswer(txID, node, operationID string, body []byte) error {
	if !json.Valid(body) {
		return fmt.Errorf("journal: stage answer of %s/%s: not JSON", node, operationID)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed.Load() {
		return fmt.Errorf("journal: stage answer: %w", ErrClosed)
	}
	j.staged[txID] = stagedAnswer{key: answerKey(node, operationID), body: append([]byte(nil), body...)}
	return nil
}

// putAnswer writes a staged answer; called inside the commit's write.
func putAnswer(b *bolt.Tx, a stagedAnswer, txID string, now time.Time) error {
	v, err := json.Marshal(answerRecord{TxID: txID, At: now, Body: string(a.body)})
	if err != nil {
		return err
	}
	return b.Bucket(bucketAnswer).Put(a.key, v)
}

// Answer returns the answer recorded for effect node's operation operationID (a copy) and
// the transaction that committed it; found false when there is none (never committed
// with an answer, or compacted).
func (j *Journal) Answer(node, operationID string) (body []byte, txID string, found bool, err error) {
	err = j.view(func(b *bolt.Tx) error {
		bk := b.Bucket(bucketAnswer)
		if bk == nil {
			return nil
		}
		v := bk.Get(answerKey(node, operationID))
		if v == nil {
			return nil
		}
		var rec answerRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("%w: answer of %s/%s: %v", ErrCorrupt, node, operationID, err)
		}
		body, txID, found = []byte(rec.Body), rec.TxID, true
		return nil
	})
	if err != nil {
		return nil, "", false, fmt.Errorf("journal: answer: %w", err)
	}
	return body, txID, found, nil
}

// ReplaceAnswer replaces the body of the answer already recorded for node's operationID
// by transaction txID (the final answer, once the effect has returned, in place of the
// one staged before its commit). It does nothing when there is no such answer.
func (j *Journal) ReplaceAnswer(txID, node, operationID string, body []byte) error {
	if !json.Valid(body) {
		return fmt.Errorf("journal: replace answer of %s/%s: not JSON", node, operationID)
	}
	err := j.update(func(b *bolt.Tx) error {
		bk := b.Bucket(bucketAnswer)
		key := answerKey(node, operationID)
		v := bk.Get(key)
		if v == nil {
			return nil
		}
		var rec answerRecord
		if err := json.Unmarshal(v, &rec); err != nil || rec.TxID != txID {
			return nil
		}
		rec.Body = string(body)
		nv, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return bk.Put(key, nv)
	})
	if err != nil {
		return fmt.Errorf("journal: replace answer: %w", err)
	}
	return nil
}

// compactAnswers removes the answers recorded before cutoff; called inside Compact's
// write. A repeat of such an operation id runs again.
func compactAnswers(b *bolt.Tx, cutoff time.Time) error {
	bk := b.Bucket(bucketAnswer)
	var old [][]byte
	c := bk.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var rec answerRecord
		if json.Unmarshal(v, &rec) != nil || !rec.At.After(cutoff) {
			old = append(old, append([]byte(nil), k...))
		}
	}
	for _, k := range old {
		if err := bk.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
