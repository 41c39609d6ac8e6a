package journal

import "errors"

var (
	// ErrInvalidOptions is returned by Open when an Options field is out of
	// range.
	ErrInvalidOptions = errors.New("journal: invalid options")
	// ErrLocked is returned by Open when another Journal, in this process or
	// another, still holds the file after Options.LockTimeout.
	ErrLocked = errors.New("journal: file locked by another process")
	// ErrClosed is returned by every method, OnRecord included, once Close
	// has been called.
	ErrClosed = errors.New("journal: closed")
	// ErrNotFound is returned by Get, MarkPublished and Resolve for a
	// transaction ID the journal holds no record of (it was never journaled,
	// or it was compacted).
	ErrNotFound = errors.New("journal: no such transaction")
	// ErrNotCommitted is returned by MarkPublished for a transaction that is
	// not committed: only a committed transaction publishes its outbox.
	ErrNotCommitted = errors.New("journal: transaction not committed")
	// ErrInvalidResult is returned by Resolve for a tx.Result without an ID
	// or whose State is neither rolled_back nor failed.
	ErrInvalidResult = errors.New("journal: invalid recovery result")
	// ErrLive is returned by Resolve for a transaction that is pending or
	// active in this boot's records: a transaction this process is running,
	// not one a crash left, so only its owner may end it.
	ErrLive = errors.New("journal: transaction is live in this process")
	// ErrNotFailed is returned by ReplayFailed for a record whose state is not
	// failed: only a failed rollback has compensations to retry.
	ErrNotFailed = errors.New("journal: transaction not failed")
	// ErrCorrupt is returned by Open for a bolt file that is not a journal
	// of this layout version, and joined into the error of Get, List,
	// Incomplete and Unpublished for each record that cannot be decoded;
	// those still return every intact record.
	ErrCorrupt = errors.New("journal: corrupt record")
)
