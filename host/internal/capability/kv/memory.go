package kv

import (
	"bytes"
	"slices"
	"strings"
	"sync"
)

// NewMemory validates cfg and returns an empty DB kept in memory, for tests
// and for hosts that need no persistence: its data is gone when it is closed
// or dropped. It uses only cfg.MaxValueSize. It returns an error wrapping
// ErrInvalidConfig if a field of cfg is out of range.
func NewMemory(cfg Config) (*DB, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return newDB(cfg, "memory", &memory{spaces: make(map[string]map[string][]byte)}), nil
}

// memory is the engine of NewMemory: a map per namespace. List sorts the
// matching keys on every call, which is fine for the sizes tests use.
type memory struct {
	// mu guards spaces and the maps and slices in it; slices are never
	// modified once stored, only replaced.
	mu     sync.RWMutex
	spaces map[string]map[string][]byte
}

func (m *memory) get(ns, key string) ([]byte, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := m.spaces[ns][key]
	if !ok {
		return nil, false, nil
	}
	return append([]byte{}, v...), true, nil
}

func (m *memory) put(ns, key string, value []byte) error {
	value = bytes.Clone(value) // outside the lock
	if value == nil {
		value = []byte{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	space := m.spaces[ns]
	if space == nil {
		space = make(map[string][]byte)
		m.spaces[ns] = space
	}
	space[key] = value
	return nil
}

func (m *memory) delete(ns, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	space := m.spaces[ns]
	_, ok := space[key]
	delete(space, key)
	if len(space) == 0 {
		delete(m.spaces, ns)
	}
	return ok, nil
}

func (m *memory) list(ns, prefix string, limit int) ([]Entry, error) {
	m.mu.RLock()
	var entries []Entry
	for k, v := range m.spaces[ns] {
		if strings.HasPrefix(k, prefix) {
			entries = append(entries, Entry{Key: k, Value: v}) // values are immutable
		}
	}
	m.mu.RUnlock()

	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) })
	entries = entries[:min(limit, len(entries))]
	for i := range entries {
		entries[i].Value = append([]byte{}, entries[i].Value...)
	}
	if entries == nil {
		entries = []Entry{}
	}
	return entries, nil
}

func (m *memory) close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.spaces = nil
	return nil
}
