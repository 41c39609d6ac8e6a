package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Journal is a write-ahead journal of effect transactions in one bolt file.
// It is the tx.Observer of the host's tx.Manager, and after a crash it tells
// the host what to roll back (Incomplete) and what to publish again
// (Unpublished). Create one with Open; the zero value is not usable.
//
// A Journal is safe for concurrent use by multiple goroutines: writes are
// serialized by bolt, one transaction (and one fsync) at a time, and reads
// run in parallel with them.
type Journal struct {
	db     *bolt.DB
	opts   Options
	log    *slog.Logger
	closed atomic.Bool
	// boot numbers this Open of the file (1 for the first, then one more at each); every
	// record this Journal writes carries it, so Incomplete can tell a transaction a
	// crashed process left from one this process is running.
	boot uint64

	// mu guards begun and staged.
	mu sync.Mutex
	// begun holds the begin time of each transaction OnBegin saw that has
	// not reached a final state: the header written with its first
	// operation needs it, and tx.Tx has no getter for it.
	begun map[string]time.Time
	// staged holds the answer of each transaction staged with StageAnswer, until it
	// reaches a final state: written with the commit, dropped with a rollback.
	staged map[string]stagedAnswer
}

// Open opens the journal file at path, creating it (mode 0600) if it does
// not exist; its directory must exist. Then, unless opts.Retention is
// negative, it removes the records Compact(opts.Retention) would, and logs
// how many at Info level. It blocks while another Journal holds the file,
// for up to opts.LockTimeout.
//
// It returns an error wrapping ErrInvalidOptions for bad opts; ErrLocked if
// the file is still locked after opts.LockTimeout; ErrCorrupt for a bolt
// file that is not a journal of this layout version, or a truncated one (which bbolt
// itself would fault on); or the error of
// opening the file, such as bbolt's errors.ErrInvalid for a file that is not
// a bolt database.
func Open(path string, opts Options) (*Journal, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkFile(path); err != nil {
		return nil, fmt.Errorf("journal: open: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout, NoSync: opts.NoSync})
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("journal: open %s: %w (gave up after %v)", path, ErrLocked, opts.LockTimeout)
	case errors.As(err, &pathErr):
		return nil, fmt.Errorf("journal: open: %w", err) // err names the path
	case err != nil:
		return nil, fmt.Errorf("journal: open %s: %w", path, err)
	}
	var boot uint64
	err = db.Update(func(t *bolt.Tx) error {
		if err := initLayout(t); err != nil {
			return err
		}
		boot, err = nextBoot(t)
		return err
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("journal: open %s: %w", path, err), db.Close())
	}
	j := &Journal{db: db, opts: opts, log: opts.Logger, boot: boot, begun: make(map[string]time.Time), staged: make(map[string]stagedAnswer)}
	if opts.Retention > 0 {
		n, err := j.Compact(opts.Retention)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("journal: open %s: %w", path, err), db.Close())
		}
		if n > 0 {
			j.log.Info("journal: compacted on open", "path", path, "removed", n, "retention", opts.Retention)
		}
	}
	return j, nil
}

// Boot returns the number of this Open of the file: 1 for the first, one more at each
// later one. Records this Journal writes carry it (Record.Boot).
func (j *Journal) Boot() uint64 { return j.boot }

// Close releases the file. Every later call returns an error wrapping
// ErrClosed; OnRecord included, so an operation begun after Close is never
// performed. Close waits for a write in progress; a second Close does
// nothing and returns nil.
func (j *Journal) Close() error {
	if j.closed.Swap(true) {
		return nil
	}
	j.mu.Lock()
	clear(j.begun)
	j.mu.Unlock()
	if err := j.db.Close(); err != nil {
		return fmt.Errorf("journal: close: %w", err)
	}
	return nil
}

// update runs fn in one bolt write transaction, fsynced before it returns
// unless Options.NoSync is set.
func (j *Journal) update(fn func(*bolt.Tx) error) error {
	if j.closed.Load() {
		return ErrClosed
	}
	return closedErr(j.db.Update(fn))
}

// view runs fn in one bolt read transaction.
func (j *Journal) view(fn func(*bolt.Tx) error) error {
	if j.closed.Load() {
		return ErrClosed
	}
	return closedErr(j.db.View(fn))
}

// closedErr turns bolt's error for a closed database, which a call racing
// Close may get, into ErrClosed.
func closedErr(err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}
