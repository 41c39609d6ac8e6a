package cache

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/maypok86/otter/v2/stats"
)

// ComputeFunc computes the value for a missing key. It returns the value, the
// value's TTL (0 means Config.TTL, a negative TTL means do not store) and an
// error (nothing is stored then). Its ctx carries the values of the context of
// the caller that started the computation, but not its deadline or
// cancellation: it is cancelled only when every caller waiting for the result
// has given up. compute runs on a goroutine of its own, which lives until
// compute returns, so compute should return soon after ctx is done. The cache
// keeps the returned slice without copying it: compute must not modify it
// afterwards.
type ComputeFunc func(ctx context.Context) (value []byte, ttl time.Duration, err error)

// Cache is a bounded, expiring map from Key to computed values with per-key
// single computation. It is safe for concurrent use by multiple goroutines.
type Cache struct {
	store      *otter.Cache[Key, entry]
	weights    weights
	ttl        time.Duration
	maxEntries int

	// counts holds hits and misses in otter's striped adders, so that hits on
	// many cores do not contend on one cache line. Otter itself records
	// nothing: its notion of a hit differs from ours. Joins and shared hits
	// are rarer (each waits for a computation) and plain atomics.
	counts      *stats.Counter
	joined      atomic.Uint64
	sharedHits  atomic.Uint64
	waiting     atomic.Int64 // callers waiting for a computation now
	evictions   atomic.Uint64
	expirations atomic.Uint64

	// mu guards flights. It is also held while a finished computation is
	// stored and while Invalidate and Clear remove entries, which orders the
	// two: a removal that comes first detaches the flight, and the flight
	// then stores nothing.
	mu      sync.Mutex
	flights map[Key]*flight
}

// entry is what the cache stores per key.
type entry struct {
	value []byte
	ttl   time.Duration
}

// New returns an empty cache bounded by cfg.
//
// It returns an error wrapping ErrInvalidConfig if a field of cfg is out of
// range. The cache runs one background goroutine (otter's, which removes
// expired entries once a second); Close stops it.
func New(cfg Config) (*Cache, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Cache{
		weights:    newWeights(cfg.MaxEntries, cfg.MaxBytes),
		ttl:        cfg.TTL,
		maxEntries: cfg.MaxEntries,
		counts:     stats.NewCounter(),
		flights:    make(map[Key]*flight),
	}
	c.store, err = otter.New(&otter.Options[Key, entry]{
		MaximumWeight: c.weights.maxWeight,
		Weigher:       func(_ Key, e entry) uint32 { return c.weights.weight(len(e.value)) },
		// Writing, not accessing: reads do not extend an entry's life,
		// as in ONEX.
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[Key, entry]) time.Duration {
			return e.Value.ttl
		}),
		// Atomic, so the counts are up to date when the deletion returns
		// rather than when an executor gets round to it. It runs under an
		// otter bucket lock and only touches atomics.
		OnAtomicDeletion: c.countDeletion,
	})
	if err != nil {
		return nil, fmt.Errorf("cache: new otter cache: %w", err)
	}
	return c, nil
}

func (c *Cache) countDeletion(e otter.DeletionEvent[Key, entry]) {
	switch e.Cause {
	case otter.CauseOverflow:
		c.evictions.Add(1)
	case otter.CauseExpiration:
		c.expirations.Add(1)
	}
}

// Outcome is how GetOrCompute answered one call. It is a plain integer, safe
// for concurrent use.
type Outcome int

const (
	// Miss: the value was not cached and no computation of the key was
	// running, so this call started one (or, its context already done,
	// gave up without starting one).
	Miss Outcome = iota
	// Hit: the value was cached.
	Hit
	// SharedHit: this call started the computation, and the computation
	// found the value in a shared cache level instead of computing it (see
	// MarkShared).
	SharedHit
	// Joined: this call waited for a computation another call had started.
	Joined
)

// String returns "miss", "hit", "shared_hit" or "joined", the names the
// host reports, or "unknown".
func (o Outcome) String() string {
	switch o {
	case Miss:
		return "miss"
	case Hit:
		return "hit"
	case SharedHit:
		return "shared_hit"
	case Joined:
		return "joined"
	}
	return "unknown"
}

// sharedKey is the context key under which a flight's context holds the
// flight, for MarkShared.
type sharedKey struct{}

// MarkShared tells the cache, from inside a ComputeFunc, that the value it is
// about to return was found in a shared cache level rather than computed: the
// call that started the computation is then answered SharedHit. ctx must be
// (or derive from) the context the ComputeFunc received; any other ctx is
// ignored. It does not block.
func MarkShared(ctx context.Context) {
	if f, ok := ctx.Value(sharedKey{}).(*flight); ok {
		f.shared.Store(true)
	}
}

// GetOrCompute returns the value cached for key, with Hit, or computes it.
//
// On a miss, compute runs once, on a goroutine of its own, for all the
// callers that ask for key until it returns; they all get its value and its
// error, the caller that started it with Miss (SharedHit if compute called
// MarkShared), the others with Joined. A successful value is stored (see
// ComputeFunc for its TTL) unless it is too large for Config.MaxBytes, or key
// was invalidated or the cache cleared while compute ran, or every caller
// gave up before it returned. Errors are never stored, and on an error the
// value is nil. If compute panics, every waiter gets a *PanicError and
// nothing is stored.
//
// Every call is counted in Stats under its outcome once it returns, whether
// it got a value or an error.
//
// GetOrCompute blocks until the result is ready or ctx is done. When ctx is
// done first, it returns an error wrapping ctx.Err() and leaves the
// computation running for the other waiters; the last waiter to give up
// cancels compute's context. A call whose ctx is already done when it misses
// starts nothing.
//
// The returned slice is a view of the stored value, shared with every other
// caller: it must not be modified. Copy it before handing it on.
func (c *Cache) GetOrCompute(ctx context.Context, key Key, compute ComputeFunc) (value []byte, o Outcome, err error) {
	if e, ok := c.store.GetIfPresent(key); ok {
		c.counts.RecordHits(1)
		return e.value, Hit, nil
	}

	c.mu.Lock()
	// A flight may have stored key since the lookup above; both the store
	// and the removal of the flight happen under mu, so this look is exact.
	if e, ok := c.store.GetIfPresent(key); ok {
		c.mu.Unlock()
		c.counts.RecordHits(1)
		return e.value, Hit, nil
	}
	if err := ctx.Err(); err != nil {
		c.mu.Unlock()
		c.counts.RecordMisses(1)
		return nil, Miss, fmt.Errorf("cache: get %v: %w", key, err)
	}
	o = Joined
	f := c.flights[key]
	if f == nil {
		o = Miss
		f = newFlight(ctx)
		c.flights[key] = f
		go c.run(key, f, compute)
	}
	f.waiters++
	c.waiting.Add(1)
	c.mu.Unlock()

	select {
	case <-f.done:
		value, err = f.value, f.err
	case <-ctx.Done():
		c.leave(key, f)
		value, err = nil, fmt.Errorf("cache: wait for %v: %w", key, ctx.Err())
	}
	c.waiting.Add(-1)
	switch {
	case o == Joined:
		c.joined.Add(1)
	case err == nil && f.shared.Load():
		o = SharedHit
		c.sharedHits.Add(1)
	default:
		c.counts.RecordMisses(1)
	}
	return value, o, err
}

// Invalidate removes the entry for key, if any. A computation of key that is
// running detaches: its current waiters still get its result, but the result
// is not stored, and later callers start a new computation. Invalidate does
// not count as an eviction or expiration.
func (c *Cache) Invalidate(key Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.flights, key)
	c.store.Invalidate(key)
}

// Clear removes every entry and detaches every running computation, as
// Invalidate does for one key. Counters are kept.
func (c *Cache) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.flights)
	c.store.InvalidateAll()
}

// Close stops the goroutine that removes expired entries once a second. The
// cache keeps working afterwards, but expired entries are then removed only
// during later writes and occasional reads (they are never returned either
// way). Close does not wait for running computations. It may be called more
// than once.
func (c *Cache) Close() {
	c.store.StopAllGoroutines()
}
