package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/onexhost/onex-host/host"
)

// SharedCacheConfig configures a SharedCache. The zero value takes every default.
type SharedCacheConfig struct {
	// Bucket is the JetStream key-value bucket; default "onex_cache". Every host of a
	// cluster uses the same one.
	Bucket string
	// TTL is the bucket's limit on any value's age; default 1 h. A value also expires
	// with the TTL the host gives it (the plugin's, else the host's cache TTL), at least
	// 1 s (JetStream's smallest per-key TTL).
	TTL time.Duration
	// Lease is how long a host computing a key keeps the others waiting for its value
	// before they compute it themselves: at least the slowest computation you cache.
	// Default 10 s.
	Lease time.Duration
	// MaxValueBytes bounds a shared value; larger results stay local. Default 900 KiB
	// (under NATS's default 1 MiB message limit).
	MaxValueBytes int
	// OpTimeout bounds each bucket operation, so that an unreachable NATS delays a
	// computation by at most this much. Default 2 s.
	OpTimeout time.Duration
	// Replicas of the bucket in a JetStream cluster; default 1.
	Replicas int
	// Logger receives the tier's failures; default slog.Default().
	Logger *slog.Logger
}

// SharedCacheStats counts what the shared tier did.
type SharedCacheStats struct {
	Hits   uint64 `json:"hits"`   // a value another host stored
	Waits  uint64 `json:"waits"`  // hits that waited for another host's computation
	Misses uint64 `json:"misses"` // computed here
	Stores uint64 `json:"stores"` // values stored
	Errors uint64 `json:"errors"` // bucket operations that failed (the call computed locally)
}

// SharedCache is host.SharedCache in a JetStream key-value bucket: the second cache level
// of every host of a cluster. A miss takes a short lease on the key (KV Create of
// "lease.<key>": the first host wins); the others wait for its value or for the lease to
// expire, so N hosts asking for one new key compute it once. Invalidations propagate:
// Attach watches the bucket and removes deleted keys from the host's own cache.
//
// A failure of the bucket never fails a computation: it runs locally and is counted in
// Errors. SharedCache is safe for concurrent use.
type SharedCache struct {
	kv  jetstream.KeyValue
	cfg SharedCacheConfig
	id  string
	log *slog.Logger

	hits, waits, misses, stores, errs atomic.Uint64

	mu      sync.Mutex
	watches []jetstream.KeyWatcher
	closed  bool
}

var _ host.SharedCache = (*SharedCache)(nil)

// NewSharedCache creates or opens the bucket on nc's JetStream (ctx bounds waiting for
// JetStream to be ready).
func NewSharedCache(ctx context.Context, nc *nats.Conn, cfg SharedCacheConfig) (*SharedCache, error) {
	if cfg.Bucket == "" {
		cfg.Bucket = "onex_cache"
	}
	if cfg.TTL <= 0 {
		cfg.TTL = time.Hour
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 10 * time.Second
	}
	cfg.Lease = max(cfg.Lease, time.Second)
	if cfg.MaxValueBytes <= 0 {
		cfg.MaxValueBytes = 900 << 10
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	kv, err := keyValue(ctx, nc, jetstream.KeyValueConfig{
		Bucket: cfg.Bucket, Description: "onex-host: shared compute cache",
		TTL: cfg.TTL, Replicas: cfg.Replicas,
		MaxValueSize: int32(cfg.MaxValueBytes),
	})
	if err != nil {
		return nil, err
	}
	return &SharedCache{kv: kv, cfg: cfg, id: nuid.Next(), log: cfg.Logger.With("component", "shared-cache")}, nil
}

const leasePrefix = "lease."

// Fetch implements host.SharedCache.
func (c *SharedCache) Fetch(ctx context.Context, key string, ttl time.Duration, compute func(context.Context) ([]byte, error)) ([]byte, bool, error) {
	if v, ok := c.get(ctx, key); ok {
		c.hits.Add(1)
		return v, true, nil
	}
	octx, cancel := context.WithTimeout(ctx, c.cfg.OpTimeout)
	rev, err := c.kv.Create(octx, leasePrefix+key, []byte(c.id), jetstream.KeyTTL(c.cfg.Lease))
	cancel()
	switch {
	case err == nil:
		defer c.release(key, rev)
	case errors.Is(err, jetstream.ErrKeyExists):
		if v, ok := c.await(ctx, key); ok {
			c.hits.Add(1)
			c.waits.Add(1)
			return v, true, nil
		}
	default:
		c.failed("lease", err)
	}
	c.misses.Add(1)
	v, err := compute(ctx)
	if err != nil {
		return nil, false, err
	}
	c.store(ctx, key, v, ttl)
	return v, false, nil
}

// get reads key; a missing key and a failure are both a miss.
func (c *SharedCache) get(ctx context.Context, key string) ([]byte, bool) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.OpTimeout)
	defer cancel()
	e, err := c.kv.Get(ctx, key)
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			c.failed("get", err)
		}
		return nil, false
	}
	return e.Value(), true
}

// await waits for the value of a key another host is computing, until its lease is
// released or expires, or ctx ends.
func (c *SharedCache) await(ctx context.Context, key string) ([]byte, bool) {
	deadline := time.Now().Add(c.cfg.Lease)
	wait := 2 * time.Millisecond
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
		if v, ok := c.get(ctx, key); ok {
			return v, true
		}
		if _, ok := c.get(ctx, leasePrefix+key); !ok {
			// Released without a value (the computation failed or was not shareable).
			return c.get(ctx, key)
		}
	}
	return nil, false
}

// store shares v under key for ttl (first store wins; values of one key are equal).
func (c *SharedCache) store(ctx context.Context, key string, v []byte, ttl time.Duration) {
	if len(v) > c.cfg.MaxValueBytes {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.OpTimeout)
	defer cancel()
	opts := []jetstream.KVCreateOpt{}
	if ttl > 0 {
		opts = append(opts, jetstream.KeyTTL(max(ttl, time.Second)))
	}
	if _, err := c.kv.Create(ctx, key, v, opts...); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		c.failed("store", err)
		return
	}
	c.stores.Add(1)
}

// release removes this host's lease on key, taken at revision rev, and only it: when
// the lease expired during the computation and another host took it, that lease stays
// (the purge is conditional on the revision).
func (c *SharedCache) release(key string, rev uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.OpTimeout)
	defer cancel()
	err := c.kv.Purge(ctx, leasePrefix+key, jetstream.LastRevision(rev))
	if apiErr, ok := errors.AsType[*jetstream.APIError](err); ok && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return // not ours any more
	}
	if err != nil {
		c.failed("release", err)
	}
}

// Invalidate implements host.SharedCache: the key is deleted from the bucket, and every
// attached host removes it from its own cache when the deletion reaches its watch.
func (c *SharedCache) Invalidate(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.OpTimeout)
	defer cancel()
	if err := c.kv.Delete(ctx, key); err != nil {
		return fmt.Errorf("cluster: shared cache: invalidate %s: %w", key, err)
	}
	return nil
}

// Clear implements host.SharedCache: every value in the bucket is purged (leases are
// left to their owners), and every attached host removes each key from its own cache when
// the purge reaches its watch. It takes one bucket operation per key; ctx bounds the whole.
// Values stored while it runs may survive it.
func (c *SharedCache) Clear(ctx context.Context) error {
	lister, err := c.kv.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("cluster: shared cache: clear %s: %w", c.cfg.Bucket, err)
	}
	defer func() { _ = lister.Stop() }()
	var errs []error
	for key := range lister.Keys() {
		if strings.HasPrefix(key, leasePrefix) {
			continue
		}
		octx, cancel := context.WithTimeout(ctx, c.cfg.OpTimeout)
		if err := c.kv.Purge(octx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
		cancel()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cluster: shared cache: clear %s: %w", c.cfg.Bucket, err)
	}
	return nil
}

// Attach makes h follow invalidations: a watch on the bucket calls h.InvalidateCached
// for every key deleted or purged by any host. Close stops it.
func (c *SharedCache) Attach(ctx context.Context, h *host.Host) error {
	// The watch lives until Close, not until ctx (which bounds only its start).
	w, err := c.kv.WatchAll(context.WithoutCancel(ctx), jetstream.UpdatesOnly())
	if err != nil {
		return fmt.Errorf("cluster: shared cache: watching %s: %w", c.cfg.Bucket, err)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = w.Stop()
		return errors.New("cluster: shared cache: closed")
	}
	c.watches = append(c.watches, w)
	c.mu.Unlock()
	go func() {
		for e := range w.Updates() {
			if e == nil || strings.HasPrefix(e.Key(), leasePrefix) {
				continue
			}
			if op := e.Operation(); op == jetstream.KeyValueDelete || op == jetstream.KeyValuePurge {
				if err := h.InvalidateCached(e.Key()); err != nil {
					c.log.Warn("ignoring an invalidation", "key", e.Key(), "error", err)
				}
			}
		}
	}()
	return nil
}

// Stats returns the tier's counts.
func (c *SharedCache) Stats() SharedCacheStats {
	return SharedCacheStats{Hits: c.hits.Load(), Waits: c.waits.Load(), Misses: c.misses.Load(),
		Stores: c.stores.Load(), Errors: c.errs.Load()}
}

// Close stops the invalidation watches. Fetch keeps working.
func (c *SharedCache) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, w := range c.watches {
		_ = w.Stop()
	}
	c.watches = nil
}

func (c *SharedCache) failed(op string, err error) {
	c.errs.Add(1)
	c.log.Debug("shared cache operation failed; computing locally", "op", op, "error", err)
}
