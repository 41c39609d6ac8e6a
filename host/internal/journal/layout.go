package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/tx"
	bolt "go.etcd.io/bbolt"
)

// layoutVersion is the version of the bucket layout described in doc.go,
// stored under meta/"layout". Open refuses a file with another one.
const layoutVersion = "1"

// The top-level buckets; see doc.go.
var (
	bucketMeta   = []byte("meta")
	bucketTx     = []byte("tx")
	bucketOp     = []byte("op")
	bucketOutbox = []byte("outbox")
	// bucketAnswer holds the answers of committed effects by node and operation id
	// (answer.go). A journal written before it existed gets it at the next Open; older
	// hosts ignore it.
	bucketAnswer = []byte("answer")
	keyLayout    = []byte("layout")
	keyBoot      = []byte("boot")
)

// opKey returns the key of operation seq of transaction id in bucketOp: the
// ID, a zero byte, and seq as 8 big-endian bytes, so that a transaction's
// operations are adjacent and sorted by seq. A transaction ID (a UUID) never
// contains a zero byte, so no ID's prefix is another's.
func opKey(id string, seq int) []byte {
	k := make([]byte, 0, len(id)+9)
	k = append(k, id...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, uint64(seq))
}

// opPrefix returns the prefix shared by every key opKey makes for id.
func opPrefix(id string) []byte { return append([]byte(id), 0) }

// initLayout creates the buckets of a new journal, or checks the layout
// version of an existing one.
func initLayout(t *bolt.Tx) error {
	if meta := t.Bucket(bucketMeta); meta != nil {
		if v := meta.Get(keyLayout); string(v) != layoutVersion {
			return fmt.Errorf("%w: layout version %q, want %q", ErrCorrupt, v, layoutVersion)
		}
	} else if k, _ := t.Cursor().First(); k != nil {
		return fmt.Errorf("%w: bolt file without a journal layout (bucket %q)", ErrCorrupt, k)
	}
	for _, name := range [][]byte{bucketMeta, bucketTx, bucketOp, bucketOutbox, bucketAnswer} {
		if _, err := t.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return t.Bucket(bucketMeta).Put(keyLayout, []byte(layoutVersion))
}

// nextBoot increments the open counter under meta/"boot" (8 big-endian
// bytes; absent means 0) and returns the new value: the boot of the Journal
// being opened. Files written before the counter existed hold records of
// boot 0, which every later open treats as left by an earlier process.
func nextBoot(t *bolt.Tx) (uint64, error) {
	meta := t.Bucket(bucketMeta)
	var n uint64
	if v := meta.Get(keyBoot); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	} else if v != nil {
		return 0, fmt.Errorf("%w: meta boot is %d bytes, want 8", ErrCorrupt, len(v))
	}
	n++
	return n, meta.Put(keyBoot, binary.BigEndian.AppendUint64(nil, n))
}

// header reads the record of id without its operations and outbox. found is
// false if there is none.
func header(t *bolt.Tx, id string) (rec Record, found bool, err error) {
	v := t.Bucket(bucketTx).Get([]byte(id))
	if v == nil {
		return Record{}, false, nil
	}
	rec, err = decodeHeader(id, v)
	return rec, true, err
}

// decodeHeader decodes a value of bucketTx.
func decodeHeader(id string, v []byte) (Record, error) {
	var rec Record
	if err := json.Unmarshal(v, &rec); err != nil {
		return Record{}, fmt.Errorf("%w: transaction %s: %w", ErrCorrupt, id, err)
	}
	if rec.Snapshot.ID != id {
		return Record{}, fmt.Errorf("%w: transaction %s: record names %q", ErrCorrupt, id, rec.Snapshot.ID)
	}
	return rec, nil
}

// putHeader writes rec without its operations and outbox, which live in
// their own buckets.
func putHeader(t *bolt.Tx, rec Record) error {
	rec.Snapshot.Operations = nil
	rec.Snapshot.Outbox = nil
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("journal: encode transaction %s: %w", rec.Snapshot.ID, err)
	}
	return t.Bucket(bucketTx).Put([]byte(rec.Snapshot.ID), v)
}

// load fills in rec's operations, in Seq order, and its outbox.
func load(t *bolt.Tx, rec *Record) error {
	id := rec.Snapshot.ID
	ops := []tx.Operation{}
	p := opPrefix(id)
	c := t.Bucket(bucketOp).Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		var op tx.Operation
		if err := json.Unmarshal(v, &op); err != nil {
			return fmt.Errorf("%w: transaction %s: operation key %x: %w", ErrCorrupt, id, k[len(p):], err)
		}
		ops = append(ops, op)
	}
	rec.Snapshot.Operations = ops
	rec.Snapshot.Outbox = nil
	if v := t.Bucket(bucketOutbox).Get([]byte(id)); v != nil {
		var events []abi.Event
		if err := json.Unmarshal(v, &events); err != nil {
			return fmt.Errorf("%w: transaction %s: outbox: %w", ErrCorrupt, id, err)
		}
		rec.Snapshot.Outbox = events
	}
	return nil
}

// remove deletes every key of transaction id.
func remove(t *bolt.Tx, id string) error {
	ops := t.Bucket(bucketOp)
	var keys [][]byte
	p := opPrefix(id)
	c := ops.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k)) // k is valid only until the next change
	}
	for _, k := range keys {
		if err := ops.Delete(k); err != nil {
			return err
		}
	}
	if err := t.Bucket(bucketOutbox).Delete([]byte(id)); err != nil {
		return err
	}
	return t.Bucket(bucketTx).Delete([]byte(id))
}
