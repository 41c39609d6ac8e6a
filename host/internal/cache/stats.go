package cache

// Stats is a snapshot of a cache's counters under ONEX's names. Counters are
// exact: no hit or miss is lost under concurrency. Fields read at slightly
// different instants, so while calls are running a snapshot need not match
// one single moment, but TotalRequests always equals Hits + SharedHits +
// Joined + Misses and
// TotalEntries always equals ValidEntries + ExpiredEntries.
type Stats struct {
	// TotalEntries is the number of entries otter holds, including expired
	// ones it has not removed yet.
	TotalEntries int `json:"total_entries"`
	// ExpiredEntries is the number of those entries whose TTL has passed.
	// Otter removes them on its next maintenance (at most about a second
	// later while the cleaning goroutine runs).
	ExpiredEntries int `json:"expired_entries"`
	// ValidEntries is TotalEntries - ExpiredEntries: the entries a lookup
	// can return.
	ValidEntries int `json:"valid_entries"`
	// MaxSize is Config.MaxEntries.
	MaxSize int `json:"max_size"`
	// Hits counts GetOrCompute calls answered from the cache (Hit).
	Hits uint64 `json:"hits"`
	// SharedHits counts calls that started a computation which found the
	// value in a shared cache level (SharedHit).
	SharedHits uint64 `json:"shared_hits"`
	// Joined counts calls that waited for a computation another call had
	// started (Joined), whether they got its result or gave up.
	Joined uint64 `json:"joined"`
	// Misses counts calls that started a computation that did not come from
	// a shared level, or missed with a done context (Miss). Without a shared
	// level, Misses minus the calls whose context was done at once is the
	// number of computations.
	Misses uint64 `json:"misses"`
	// HitRate is 100 * (Hits + SharedHits) / TotalRequests: the share of
	// calls that found the value stored in some level. 0 when there were
	// none.
	HitRate float64 `json:"hit_rate"`
	// Evictions counts entries removed to keep the cache within its bounds,
	// including new entries the admission policy turned away at once.
	Evictions uint64 `json:"evictions"`
	// Expirations counts entries removed because their TTL passed.
	// Invalidate and Clear count as neither.
	Expirations uint64 `json:"expirations"`
	// Waiting is how many calls are waiting for a computation now: the
	// calls that started one and those that joined them. They are counted
	// in the other fields once they return.
	Waiting int `json:"waiting"`
	// TotalRequests is Hits + SharedHits + Joined + Misses: every call,
	// counted once it returned.
	TotalRequests uint64 `json:"total_requests"`
}

// Stats returns a snapshot of the cache's counters. It does not block on
// computations; it walks the entries to tell valid from expired ones, so it
// takes time linear in their number.
func (c *Cache) Stats() Stats {
	counts := c.counts.Snapshot()
	s := Stats{
		MaxSize:      c.maxEntries,
		Hits:         counts.Hits,
		SharedHits:   c.sharedHits.Load(),
		Joined:       c.joined.Load(),
		Misses:       counts.Misses,
		Evictions:    c.evictions.Load(),
		Expirations:  c.expirations.Load(),
		Waiting:      int(c.waiting.Load()),
		TotalEntries: c.store.EstimatedSize(),
	}
	s.TotalRequests = s.Hits + s.SharedHits + s.Joined + s.Misses
	if s.TotalRequests > 0 {
		s.HitRate = 100 * float64(s.Hits+s.SharedHits) / float64(s.TotalRequests)
	}
	// Keys skips entries that have expired but are not removed yet.
	for range c.store.Keys() {
		s.ValidEntries++
	}
	// Entries stored during the walk may push it past the size read before.
	s.ValidEntries = min(s.ValidEntries, s.TotalEntries)
	s.ExpiredEntries = s.TotalEntries - s.ValidEntries
	return s
}
