package journal

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults for zero Options fields.
const (
	// DefaultLockTimeout is the default of Options.LockTimeout.
	DefaultLockTimeout = time.Second
	// DefaultRetention is the default of Options.Retention.
	DefaultRetention = 24 * time.Hour
)

// Options sets up a Journal. A zero field means its default; Open copies
// it, so changing it afterwards has no effect.
type Options struct {
	// NoSync skips the fsync after each write. By default (false) every
	// write (OnRecord, a state change, MarkPublished, Resolve, Compact) is
	// fsynced before it returns, so it survives a power failure or a kernel
	// crash. With NoSync a write still reaches the operating system before it
	// returns, so it survives the host process being killed (kill -9, an
	// out-of-memory kill), but a power failure may lose recent writes or
	// corrupt the file.
	NoSync bool
	// LockTimeout is how long Open waits for the file lock held by another
	// Journal before failing with ErrLocked. Zero means DefaultLockTimeout
	// (1 s); it must not be negative.
	LockTimeout time.Duration
	// Retention is how long Open keeps records that Compact may remove: Open
	// calls Compact(Retention) before it returns. Zero means
	// DefaultRetention (24 h); a negative value turns compaction on Open
	// off.
	Retention time.Duration
	// Logger receives what the journal cannot return as an error: a state
	// change it failed to write, and the count of records compacted on Open.
	// Nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock for the journal's timestamps and for compaction.
	// Nil means time.Now.
	Now func() time.Time
}

// withDefaults validates opts and fills in its zero fields.
func (opts Options) withDefaults() (Options, error) {
	if opts.LockTimeout < 0 {
		return opts, fmt.Errorf("%w: LockTimeout %v is negative", ErrInvalidOptions, opts.LockTimeout)
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.Retention == 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return opts, nil
}
