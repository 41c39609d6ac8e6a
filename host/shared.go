package host

import (
	"context"
	"fmt"
	"sync"
)

// compiledKey identifies compiled code: the module's digest, the memory limit of the
// runtime it was compiled in (wazero sets the page limit per runtime) and whether it is
// the metered rewrite.
type compiledKey struct {
	digest  string
	pages   uint32
	metered bool // compiled from the instrumented bytes, for a metered runtime
	// snapshot: compiled from the pre-initialized module (Extism plugins only; a native
	// plugin's snapshot is compiled beside its module, see snapshot.go)
	snapshot bool
}

// shared holds values built at most once per key and closed with their last reference:
// compiled modules shared by every Plugin loaded from the same bytes. It is safe for
// concurrent use; build and close run outside its lock.
type shared[V any] struct {
	close func(V)

	mu sync.Mutex // guards m
	m  map[compiledKey]*sharedEntry[V]
}

type sharedEntry[V any] struct {
	v    V
	refs int
}

func newShared[V any](close func(V)) *shared[V] {
	return &shared[V]{close: close, m: map[compiledKey]*sharedEntry[V]{}}
}

// acquire returns the value for key, building it when absent, and takes a reference.
// Concurrent first acquires may each build; all but one result are closed.
func (s *shared[V]) acquire(key compiledKey, build func() (V, error)) (V, error) {
	s.mu.Lock()
	if e := s.m[key]; e != nil {
		e.refs++
		s.mu.Unlock()
		return e.v, nil
	}
	s.mu.Unlock()
	v, err := build()
	if err != nil {
		return v, err
	}
	s.mu.Lock()
	if e := s.m[key]; e != nil { // another Load won the race
		e.refs++
		s.mu.Unlock()
		s.close(v)
		return e.v, nil
	}
	s.m[key] = &sharedEntry[V]{v: v, refs: 1}
	s.mu.Unlock()
	return v, nil
}

// release drops one reference to key's value and closes it with the last.
func (s *shared[V]) release(key compiledKey) {
	s.mu.Lock()
	e := s.m[key]
	if e == nil {
		s.mu.Unlock()
		return
	}
	if e.refs--; e.refs > 0 {
		s.mu.Unlock()
		return
	}
	delete(s.m, key)
	s.mu.Unlock()
	s.close(e.v)
}

// closeCtx adapts a Close(ctx) error method to shared's close.
func closeCtx[V interface{ Close(context.Context) error }](v V) { _ = v.Close(context.Background()) }

// tracked runs compile (a compilation through the on-disk cache) as a use of key's
// compiled code in the disk cache's LRU order, and prunes the cache to its limit when the
// compilation added to it. Without a disk cache it only runs compile. A failed prune is
// logged: the plugin loads all the same.
func (h *Host) tracked(key compiledKey, flavour string, compile func() error) error {
	if h.disk == nil {
		return compile()
	}
	label := fmt.Sprintf("%s %s pages=%d metered=%t", flavour, key.digest, key.pages, key.metered)
	if key.snapshot {
		label += " snapshot"
	}
	added, err := h.disk.Track(label, compile)
	if err != nil || !added {
		return err
	}
	p, perr := h.disk.Prune(-1)
	switch {
	case perr != nil:
		h.cfg.Logger.Warn("compilation cache: prune failed", "dir", h.disk.Root(), "err", perr)
	case p.Files > 0:
		h.cfg.Logger.Info("compilation cache: pruned least recently used modules", "dir", h.disk.Root(),
			"files", p.Files, "bytes", p.Bytes, "left_bytes", p.Left, "max_bytes", h.disk.MaxBytes())
	}
	return nil
}
