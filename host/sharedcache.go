package host

import (
	"context"
	"time"

	"github.com/onexhost/onex-host/host/internal/cache"
)

// SharedCache is a second level of the compute cache, shared by several hosts (package
// host/cluster keeps it in a JetStream key-value bucket). The host's own cache stays the
// first level: only a local miss asks the SharedCache, and concurrent local callers of one
// key still share one Fetch.
//
// Keys are the local cache's keys as 64 hex digits: a hash of the plugin's digest, the
// computation and the input, so equal on every host that runs the same build.
//
// Implementations must be safe for concurrent use.
type SharedCache interface {
	// Fetch returns the value another host stored under key (hit true), or runs compute,
	// stores its value for ttl and returns it (hit false). An error of compute is
	// returned as is and nothing is stored. A failure of the shared tier itself must not
	// fail the call: Fetch then computes locally.
	Fetch(ctx context.Context, key string, ttl time.Duration, compute func(context.Context) ([]byte, error)) (value []byte, hit bool, err error)
	// Invalidate removes key from the shared tier; the implementation tells the other
	// hosts, which call Host.InvalidateCached.
	Invalidate(ctx context.Context, key string) error
	// Clear removes every key from the shared tier (Host.ClearCache calls it), telling
	// the other hosts as Invalidate does. A computation running meanwhile may still store
	// its value.
	Clear(ctx context.Context) error
}

// WithSharedCache returns c with a second, shared cache level (nil: none, the default).
func (c Config) WithSharedCache(s SharedCache) Config { c.SharedCache = s; return c }

// InvalidateCached removes the local cache entry of key (64 hex digits, as SharedCache
// sees it), if any. It does not touch the shared tier: it is how a shared tier's
// invalidation reaches this host. It is safe for concurrent use.
func (h *Host) InvalidateCached(key string) error {
	k, err := cache.ParseKey(key)
	if err != nil {
		return err
	}
	h.cache.Invalidate(k)
	return nil
}

// fetch computes the value of key through the cache levels: the local cache, then the
// shared one when configured. The outcome is this caller's: cache.Hit from the local
// level, cache.SharedHit when it asked the shared level and that had the value, cache.Joined
// when it waited for another caller's computation, cache.Miss when the guest ran for it.
func (h *Host) fetch(ctx context.Context, key cache.Key, ttl time.Duration, compute func(context.Context) ([]byte, error)) ([]byte, cache.Outcome, error) {
	shared := h.cfg.SharedCache
	return h.cache.GetOrCompute(ctx, key, func(ctx context.Context) ([]byte, time.Duration, error) {
		if shared == nil {
			v, err := compute(ctx)
			return v, ttl, err
		}
		sharedTTL := ttl
		if sharedTTL == 0 {
			sharedTTL = h.cfg.CacheTTL
		}
		v, hit, err := shared.Fetch(ctx, key.String(), sharedTTL, compute)
		if hit {
			cache.MarkShared(ctx)
		}
		return v, ttl, err
	})
}
