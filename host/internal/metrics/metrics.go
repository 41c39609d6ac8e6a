package metrics

import (
	"maps"
	"sync"
	"time"
)

// Snapshot is one computation's metrics at one moment, with ONEX's field names.
type Snapshot struct {
	TotalOperations     uint64  `json:"total_operations"`
	SuccessCount        uint64  `json:"success_count"`
	ErrorCount          uint64  `json:"error_count"`
	TotalItemsProcessed uint64  `json:"total_items_processed"`
	AvgProcessingTimeMS float64 `json:"avg_processing_time_ms"`
	MinProcessingTimeMS float64 `json:"min_processing_time_ms"`
	MaxProcessingTimeMS float64 `json:"max_processing_time_ms"`
}

// Registry holds the metrics of every computation of one node. It is safe for concurrent
// use by multiple goroutines: each computation has its own lock, held for a few
// additions, so observers of different computations never contend.
type Registry struct {
	// mu guards byName (the map, not the entries).
	mu     sync.RWMutex
	byName map[string]*entry
}

type entry struct {
	// mu guards s and total.
	mu    sync.Mutex
	s     Snapshot
	total time.Duration // sum of processing times, for the average
}

// New returns an empty Registry.
func New() *Registry { return &Registry{byName: map[string]*entry{}} }

// Observe records one operation of computation that processed items items in d; err
// says whether it failed. Operations served from the cache should be observed with d = 0.
func (r *Registry) Observe(computation string, items int, d time.Duration, failed bool) {
	e := r.entry(computation)
	ms := float64(d.Nanoseconds()) / 1e6
	e.mu.Lock()
	defer e.mu.Unlock()
	s := &e.s
	s.TotalOperations++
	if failed {
		s.ErrorCount++
	} else {
		s.SuccessCount++
	}
	s.TotalItemsProcessed += uint64(items)
	e.total += d
	if s.TotalOperations == 1 || ms < s.MinProcessingTimeMS {
		s.MinProcessingTimeMS = ms
	}
	if ms > s.MaxProcessingTimeMS {
		s.MaxProcessingTimeMS = ms
	}
	s.AvgProcessingTimeMS = float64(e.total.Nanoseconds()) / 1e6 / float64(s.TotalOperations)
}

func (r *Registry) entry(name string) *entry {
	r.mu.RLock()
	e := r.byName[name]
	r.mu.RUnlock()
	if e != nil {
		return e
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e = r.byName[name]; e == nil {
		e = &entry{}
		r.byName[name] = e
	}
	return e
}

// Snapshot returns a copy of every computation's metrics, by name.
func (r *Registry) Snapshot() map[string]Snapshot {
	r.mu.RLock()
	entries := maps.Clone(r.byName)
	r.mu.RUnlock()
	out := make(map[string]Snapshot, len(entries))
	for name, e := range entries {
		e.mu.Lock()
		out[name] = e.s
		e.mu.Unlock()
	}
	return out
}
