package journal

import (
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onexhost/onex-host/host/internal/tx"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// BenchmarkJournal_OnRecord measures the journal's cost per mutating
// operation: one OnRecord writing a 1 KiB before-image, with and without
// fsync, from one goroutine and from many. "bolt-batch" writes the same
// keys with bbolt's DB.Batch, which merges concurrent writes into one
// commit and fsync: its gain over "sync-parallel" is what group commit
// would buy; a lone writer would wait up to the delay.
func BenchmarkJournal_OnRecord(b *testing.B) {
	op := write("/srv/bench")
	op.Compensation.Previous = make([]byte, 1024)
	for _, bc := range []struct {
		name     string
		noSync   bool
		parallel bool
		batch    time.Duration // use DB.Batch with this MaxBatchDelay
	}{
		{name: "sync"},
		{name: "nosync", noSync: true},
		{name: "sync-parallel", parallel: true},
		{name: "nosync-parallel", noSync: true, parallel: true},
		{name: "bolt-batch-10ms-parallel", parallel: true, batch: 10 * time.Millisecond}, // bbolt's default delay
		{name: "bolt-batch-200us-parallel", parallel: true, batch: 200 * time.Microsecond},
	} {
		b.Run(bc.name, func(b *testing.B) {
			j := openJournal(b, journalPath(b), Options{NoSync: bc.noSync})
			m, err := tx.New(tx.Config{Compensators: compensators(&compensator{})})
			require.NoError(b, err)
			live, err := m.Begin("bench", 1, "")
			require.NoError(b, err)
			if bc.batch > 0 {
				j.db.MaxBatchDelay = bc.batch
			}
			var seq atomic.Int64
			record := func() error {
				op := op
				op.Seq = int(seq.Add(1))
				if bc.batch == 0 {
					return j.OnRecord(live, op)
				}
				v, err := json.Marshal(op)
				if err != nil {
					return err
				}
				return j.db.Batch(func(t *bolt.Tx) error { return t.Bucket(bucketOp).Put(opKey(live.ID(), op.Seq), v) })
			}
			b.ReportAllocs()
			b.ResetTimer()
			if !bc.parallel {
				for b.Loop() {
					if err := record(); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			b.SetParallelism(8) // 8 writers per CPU
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := record(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
