package reducer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/onexhost/onex-host/host/internal/boltgroup"
	bolt "go.etcd.io/bbolt"
)

// Bucket layout (one bbolt file). nk is a (node, key) pair encoded as
// uvarint(len(node)) node uvarint(len(key)) key, so any bytes in a key are safe.
//
//	state:     nk                  → sequence (8 bytes big-endian) ‖ state JSON
//	seen:      nk ‖ event id       → sequence the event got (pruned every DedupeWindow
//	                                 events of the key: see pruneSeen)
//	outbox:    outbox number (8)   → outboxEntry JSON, in commit order
//	outboxid:  operation id        → outbox number
//	dead:      nk ‖ event id       → deadLetter JSON
//	failed:    operation id        → FailedIntent JSON (intents whose Carry failed permanently)
var (
	bucketState    = []byte("state")
	bucketSeen     = []byte("seen")
	bucketOutbox   = []byte("outbox")
	bucketOutboxID = []byte("outboxid")
	bucketDead     = []byte("dead")
	bucketFailed   = []byte("failed")
	// bucketSeenSeqV1 (nk ‖ sequence → event id) is deleted at open, see OpenStore.
	bucketSeenSeqV1 = []byte("seenseq")
	allBuckets      = [][]byte{bucketState, bucketSeen, bucketOutbox, bucketOutboxID, bucketDead, bucketFailed}
)

// Store is the durable home of reducer state: a bbolt file holding each key's state
// and sequence, the dedupe window of event ids, the outbox and the dead letters. Create
// one with OpenStore and release it with Close; the zero value is not usable. Safe for
// concurrent use by multiple goroutines; one file is open in one process at a time.
type Store struct {
	cfg    Config
	db     *bolt.DB
	group  *boltgroup.Committer // the group committer (host/internal/boltgroup)
	outbox chan struct{}        // signalled (non-blocking) after a commit added outbox entries

	closeOnce sync.Once
}

// OpenStore opens (creating, mode 0600) the store file at path, typically
// <data dir>/reducer.db. It waits at most 5 s for another process's lock on the file.
// Errors: the file cannot be opened or locked, or its buckets cannot be created.
func OpenStore(path string, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	// NoFreelistSync: the freelist is rebuilt on open instead of written at every
	// commit, which would otherwise be a large share of each group commit's pages.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("reducer: open store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		// Stores written before the dedupe records were pruned in passes kept an index
		// of them by sequence; pruneSeen needs none, and prunes those records too.
		if tx.Bucket(bucketSeenSeqV1) != nil {
			if err := tx.DeleteBucket(bucketSeenSeqV1); err != nil {
				return err
			}
		}
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("reducer: open store %s: create buckets: %w", path, err)
	}
	return &Store{cfg: cfg, db: db, group: boltgroup.New(db, cfg.MaxBatch), outbox: make(chan struct{}, 1)}, nil
}

// Close stops the group committer (commits queued behind it fail with ErrClosed) and
// closes the file. It blocks until a transaction in progress has finished. Idempotent.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.group.Close()
		err = s.db.Close()
	})
	return err
}

// update runs fn in a read-write transaction: its own (Config.SyncEach) or one shared
// with the other commits queued at the time (group commit). fn may run twice: when a
// shared transaction fails, each of its fns is run again alone, so fn must derive
// everything it writes from tx. It blocks until the transaction is durable.
func (s *Store) update(fn func(*bolt.Tx) error) error {
	if s.group.Closed() {
		return ErrClosed
	}
	if s.cfg.SyncEach {
		return s.db.Update(fn)
	}
	if err := s.group.Update(fn); errors.Is(err, boltgroup.ErrClosed) {
		return ErrClosed
	} else {
		return err
	}
}

func (s *Store) signalOutbox() {
	select {
	case s.outbox <- struct{}{}:
	default:
	}
}

// nodeKey encodes (node, key) as described at the bucket layout.
func nodeKey(node, key string) []byte {
	b := make([]byte, 0, len(node)+len(key)+4)
	b = binary.AppendUvarint(b, uint64(len(node)))
	b = append(b, node...)
	b = binary.AppendUvarint(b, uint64(len(key)))
	return append(b, key...)
}

func nodePrefix(node string) []byte {
	b := binary.AppendUvarint(nil, uint64(len(node)))
	return append(b, node...)
}

func join(a []byte, rest ...[]byte) []byte {
	out := append([]byte(nil), a...)
	for _, r := range rest {
		out = append(out, r...)
	}
	return out
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

var errCorrupt = errors.New("reducer: corrupt record")

// KeyState is a key's persisted state and sequence (0 and nil for a key never applied).
type KeyState struct {
	Sequence uint64
	State    []byte // a copy
}

// State returns the persisted state and sequence of key in node. Errors: ErrClosed, or
// a corrupt record.
func (s *Store) State(node, key string) (KeyState, error) {
	var ks KeyState
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		ks, err = readState(tx, nodeKey(node, key))
		return err
	})
	return ks, err
}

func (s *Store) view(fn func(*bolt.Tx) error) error {
	if s.group.Closed() {
		return ErrClosed
	}
	return s.db.View(fn)
}

func readState(tx *bolt.Tx, nk []byte) (KeyState, error) {
	v := tx.Bucket(bucketState).Get(nk)
	if v == nil {
		return KeyState{}, nil
	}
	if len(v) < 8 {
		return KeyState{}, errCorrupt
	}
	return KeyState{Sequence: binary.BigEndian.Uint64(v), State: append([]byte(nil), v[8:]...)}, nil
}

// seenSeq returns the sequence event id got in (node, key), or 0 when it is not in the
// dedupe window.
func seenSeq(tx *bolt.Tx, nk []byte, eventID string) uint64 {
	v := tx.Bucket(bucketSeen).Get(join(nk, []byte(eventID)))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}
