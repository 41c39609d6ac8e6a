package node

import (
	"context"
	"log/slog"
	"time"

	"github.com/onexhost/onex-host/host/internal/cache"
	"github.com/onexhost/onex-host/host/internal/capcall"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// Plugin is what this package can name of a *host.Plugin without importing host.
type Plugin interface {
	Name() string
	Digest() string
}

// Of returns the Runtime of p, which must be a *host.Plugin (it panics otherwise).
// Package host sets it in its init.
var Of func(p Plugin) Runtime

// Stats is what one guest call reports besides its result.
type Stats struct {
	Fuel    uint64        // the metered work the guest did
	Acquire time.Duration // getting an instance: waiting for one, or creating it
}

// Runtime is one loaded plugin as a node kind sees it. It is safe for concurrent use by
// multiple goroutines. Errors it returns are *host.PluginError values.
type Runtime interface {
	// Logger is the plugin's logger (tagged with its name).
	Logger() *slog.Logger
	// MaxInstances is the size of the plugin's instance pool.
	MaxInstances() int
	// WaitError is the error of a caller whose context ended (err) while it was waiting
	// for something; any other err is a host failure.
	WaitError(op string, err error, waiting string) error

	// CacheTTL is the plugin's cache TTL: 0 the host's, negative no caching.
	CacheTTL() time.Duration
	// SlowThreshold is the host's Config.SlowThreshold (0: off).
	SlowThreshold() time.Duration
	// Fetch computes key's value through the host's cache levels (see host.Host.CacheStats
	// for the outcomes). The bytes returned are the cache's: copy before handing them out.
	Fetch(ctx context.Context, key cache.Key, ttl time.Duration, compute func(context.Context) ([]byte, error)) ([]byte, cache.Outcome, error)
	// Invalidate drops computation's cached result on data, in every cache level.
	Invalidate(computation string, data []byte)
	// Compute runs computation on data (valid JSON, checked here: ErrInvalidInput
	// otherwise), converting it both ways by the computation's host.Entry encodings;
	// st gets the call's stats added.
	Compute(ctx context.Context, computation, opID string, data []byte, st *Stats) ([]byte, error)

	// OpenJournal opens the host's journal (if it has a data directory) before the
	// node's first transaction begins.
	OpenJournal() error
	// Enter admits one effect: it holds the plugin (a reload lets it finish) and counts
	// it in the host's shutdown, which cancels the returned context at its deadline.
	// Call done once the effect has finished, rollbacks included. Errors: ErrClosed.
	Enter(ctx context.Context, op string) (_ context.Context, done func(), _ error)
	// Begin begins the transaction of attempt number of effect operation opID.
	Begin(number int, opID string) (*tx.Tx, error)
	// Capabilities is what the plugin's capability calls reach.
	Capabilities() *capcall.Plugin
	// CallHeld runs computation on data for the effect attempt a, within Enter.
	CallHeld(ctx context.Context, computation string, data []byte, a *capcall.Attempt, st *Stats) ([]byte, error)
	// MarkPublished records in the journal that a committed transaction's events went out.
	MarkPublished(txID string)
}
