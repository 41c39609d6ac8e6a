package tx

import (
	"context"
	"fmt"
	"time"

	"github.com/onexhost/onex-host/abi"
)

// DefaultFinishTimeout is the default of Config.FinishTimeout.
const DefaultFinishTimeout = 30 * time.Second

// Config sets up a Manager. A zero field means its default. New copies it,
// so changing it afterwards has no effect.
type Config struct {
	// Compensators maps an Operation.Kind to what undoes operations of that
	// kind. New copies the map. Keys must not be empty and values must not be
	// nil. Record refuses a reversible operation whose kind is missing.
	Compensators map[string]Compensator

	// Publish publishes one outbox event; it is called by Commit, never
	// while a lock is held, one event at a time in outbox order, usually
	// with (*events.Bus).Publish. Nil means the manager has no outbox: Hold
	// returns ErrNoPublisher.
	Publish func(ctx context.Context, e abi.Event) error

	// Observer is told about every transaction's begin, operations and state
	// changes, for a journal or a test. Nil means none.
	Observer Observer

	// FinishTimeout bounds the work done after a transaction is decided:
	// Rollback's compensations, and Commit's publishing of the outbox. Both
	// run on a context that keeps the caller's values but not its
	// cancellation (context.WithoutCancel), with this timeout. Zero means
	// DefaultFinishTimeout; it must not be negative.
	FinishTimeout time.Duration

	// Now is the clock for the timestamps in operations and snapshots.
	// Nil means time.Now.
	Now func() time.Time
}

// withDefaults validates cfg, fills in its zero fields and copies the map.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.FinishTimeout < 0 {
		return cfg, fmt.Errorf("%w: FinishTimeout %v is negative", ErrInvalidConfig, cfg.FinishTimeout)
	}
	if cfg.FinishTimeout == 0 {
		cfg.FinishTimeout = DefaultFinishTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	comps := make(map[string]Compensator, len(cfg.Compensators))
	for kind, c := range cfg.Compensators {
		if kind == "" || c == nil {
			return cfg, fmt.Errorf("%w: compensator %q is nil or has an empty kind", ErrInvalidConfig, kind)
		}
		comps[kind] = c
	}
	cfg.Compensators = comps
	return cfg, nil
}

// Compensator undoes recorded operations of one or more kinds. Rollback calls
// it once per reversible operation, newest first, never while holding a lock,
// with a context that ends at the rollback deadline; a compensator must
// return soon after the context ends. It must be idempotent and must succeed
// when the operation never happened (see Compensation). A panic is recovered
// and reported as a *PanicError; a call to runtime.Goexit is not, and leaves
// the rollback unfinished.
//
// Compensators are shared by every transaction of a Manager, so they must be
// safe for concurrent use by multiple goroutines.
type Compensator interface {
	Compensate(ctx context.Context, op Operation) error
}

// CompensatorFunc adapts a function to the Compensator interface.
type CompensatorFunc func(ctx context.Context, op Operation) error

// Compensate calls f(ctx, op).
func (f CompensatorFunc) Compensate(ctx context.Context, op Operation) error { return f(ctx, op) }

// Observer is told what happens to transactions: it is the hook for a
// write-ahead journal (and for tests). Its methods are called without any
// lock held, on the goroutine that caused the event, and must be safe for
// concurrent use by multiple goroutines: different transactions report at
// the same time.
//
// For one transaction the calls come in order: OnBegin; then for each
// operation OnRecord, preceded by OnStateChange(pending, active) for the
// first operation or held event; then exactly one OnStateChange to a final
// state, always last, because Commit refuses to run and Rollback waits while
// a Record or Apply call is in progress.
type Observer interface {
	// OnBegin is called by Manager.Begin before it returns t.
	OnBegin(t *Tx)
	// OnRecord is called by Record and Apply after op (with its Seq) is
	// appended to t's log and before Record returns or Apply performs it.
	// A journal writes its intent here. If it returns an error, Record and
	// Apply return it wrapped: op stays in the log (so a rollback will run
	// its compensation, which must cope with it never having happened) and
	// the caller must not perform it; Apply does not.
	OnRecord(t *Tx, op Operation) error
	// OnStateChange is called after t moved from one state to another.
	OnStateChange(t *Tx, from, to State)
}
