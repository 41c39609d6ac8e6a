package journal

import (
	"fmt"
	"time"

	"github.com/onexhost/onex-host/host/internal/tx"
	bolt "go.etcd.io/bbolt"
)

// Compact removes the records nothing needs any more and that have not
// changed for olderThan (zero or negative: whatever their age), and returns
// how many it removed. It removes committed transactions whose outbox was
// published and rolled-back ones. It keeps pending and active ones (to be
// rolled back), committed ones with an unpublished outbox, failed ones (to be
// retried and resolved), and records it cannot decode, so that damage stays
// visible. Open calls it with Options.Retention.
//
// It runs as one write, so it blocks the journal's other writes while it
// scans. It returns an error wrapping ErrClosed, or the error of writing (in
// which case nothing was removed).
func (j *Journal) Compact(olderThan time.Duration) (removed int, err error) {
	cutoff := j.opts.Now().Add(-max(olderThan, 0))
	err = j.update(func(b *bolt.Tx) error {
		var ids []string
		c := b.Bucket(bucketTx).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			rec, err := decodeHeader(string(k), v)
			if err == nil && compactable(rec) && !rec.UpdatedAt.After(cutoff) {
				ids = append(ids, string(k))
			}
		}
		for _, id := range ids {
			if err := remove(b, id); err != nil {
				return err
			}
		}
		removed = len(ids)
		return compactAnswers(b, cutoff)
	})
	if err != nil {
		return 0, fmt.Errorf("journal: compact: %w", err)
	}
	return removed, nil
}

// compactable reports whether nothing needs rec any more.
func compactable(rec Record) bool {
	switch rec.Snapshot.State {
	case tx.StateCommitted:
		return rec.Published
	case tx.StateRolledBack:
		return true
	}
	return false
}
