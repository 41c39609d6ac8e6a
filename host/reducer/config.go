package reducer

import (
	"runtime"
	"time"
)

// DefaultMaxParallel is the default bound on folds running at once per Node: two per
// CPU and at least four, the same as the plugin pool's default MaxInstances, so a node
// backed by a plugin never queues more folds than the pool has instances.
func DefaultMaxParallel() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// DefaultDedupeWindow is the default number of most recent event ids remembered per key.
const DefaultDedupeWindow = 1024

// Config configures a Store and the Nodes on it. Create one with NewConfig; a zero
// field means its default. The value is copied; later changes have no effect.
type Config struct {
	// MaxParallel bounds the folds a Node runs at once. Default DefaultMaxParallel().
	MaxParallel int
	// DedupeWindow is how many of each key's most recent event ids are at least
	// remembered for redelivery (at most twice as many are: old ones are pruned every
	// DedupeWindow events); an id redelivered after more than DedupeWindow newer events
	// of its key may be applied again, after 2×DedupeWindow it is. Default DefaultDedupeWindow.
	DedupeWindow int
	// SyncEach commits every event in its own bbolt transaction (one fsync each)
	// instead of group commit. Default false; for comparison and benchmarks.
	SyncEach bool
	// MaxBatch bounds the commits one group-commit transaction takes. Default 256.
	MaxBatch int
	// Now is the clock stamped on dead letters. Default time.Now.
	Now func() time.Time
}

// NewConfig returns the defaults.
func NewConfig() Config {
	return Config{MaxParallel: DefaultMaxParallel(), DedupeWindow: DefaultDedupeWindow, MaxBatch: 256, Now: time.Now}
}

// WithMaxParallel returns a copy with MaxParallel set.
func (c Config) WithMaxParallel(n int) Config { c.MaxParallel = n; return c }

// WithDedupeWindow returns a copy with DedupeWindow set.
func (c Config) WithDedupeWindow(n int) Config { c.DedupeWindow = n; return c }

// WithSyncEach returns a copy with SyncEach set.
func (c Config) WithSyncEach(b bool) Config { c.SyncEach = b; return c }

// WithNow returns a copy with the clock set.
func (c Config) WithNow(now func() time.Time) Config { c.Now = now; return c }

func (c Config) withDefaults() Config {
	d := NewConfig()
	if c.MaxParallel <= 0 {
		c.MaxParallel = d.MaxParallel
	}
	if c.DedupeWindow <= 0 {
		c.DedupeWindow = d.DedupeWindow
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = d.MaxBatch
	}
	if c.Now == nil {
		c.Now = d.Now
	}
	return c
}
