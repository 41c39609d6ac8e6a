package cache

import (
	"fmt"
	"math"
	"math/bits"
	"time"
)

// Defaults for zero Config fields. MaxEntries and TTL are ONEX's
// ModelComputeCache defaults (max_size 1000, 30 minutes).
const (
	DefaultMaxEntries = 1000
	DefaultMaxBytes   = 64 << 20
	DefaultTTL        = 30 * time.Minute
)

// EntryOverhead is the number of bytes each entry is charged for on top of
// len(value) when it is weighed against Config.MaxBytes. It approximates what
// otter and this package keep per entry: the node with its list and timer
// links, the 32-byte key, the boxed value and slice header, the hash table
// slot. Charging it means a flood of tiny values is bounded in memory too.
const EntryOverhead = 160

// Config sets the bounds of a Cache. A zero field means its default.
type Config struct {
	// MaxEntries is the most entries the cache holds (ONEX's max_size).
	// Zero means DefaultMaxEntries; it must not be negative or above
	// math.MaxInt32.
	MaxEntries int
	// MaxBytes bounds the sum of len(value)+EntryOverhead over the entries
	// the cache holds. Zero means DefaultMaxBytes; it must be at least
	// EntryOverhead+1. A value too large to fit alone is returned to its
	// callers but not stored.
	MaxBytes int64
	// TTL is how long an entry lives after it is stored, unless the compute
	// function of GetOrCompute returns a positive TTL of its own. Zero means
	// DefaultTTL; it must not be negative. Reads do not extend it.
	TTL time.Duration
}

// withDefaults validates cfg and fills in its zero fields.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	switch {
	case cfg.MaxEntries < 0 || cfg.MaxEntries > math.MaxInt32:
		return cfg, fmt.Errorf("%w: MaxEntries %d is outside [0, %d]", ErrInvalidConfig, cfg.MaxEntries, math.MaxInt32)
	case cfg.MaxBytes <= EntryOverhead:
		return cfg, fmt.Errorf("%w: MaxBytes %d is not above EntryOverhead (%d)", ErrInvalidConfig, cfg.MaxBytes, EntryOverhead)
	case cfg.TTL < 0:
		return cfg, fmt.Errorf("%w: TTL %v is negative", ErrInvalidConfig, cfg.TTL)
	}
	return cfg, nil
}

// weights turns the two bounds, MaxEntries and MaxBytes, into the single
// weight bound otter supports (it takes a maximum size or a maximum weight,
// not both).
//
// Capacity is maxWeight units. An entry weighs the larger of its share of
// MaxEntries (entryUnit = maxWeight/MaxEntries) and its share of MaxBytes
// (rounded up). So whenever the total weight is within maxWeight, both the
// entry count is within MaxEntries and the bytes are within MaxBytes, exactly,
// with no rounding in the cache's favour. The price: when entries of very
// different sizes mix, the cache can be full before either bound is reached
// (for example half the entries at the count share and half at the byte
// share). Exact bounds were preferred over squeezing out that space.
//
// maxWeight stays at or below 1<<31 so any single entry's weight fits otter's
// uint32.
type weights struct {
	entryUnit uint64
	maxWeight uint64
	maxBytes  uint64
}

func newWeights(maxEntries int, maxBytes int64) weights {
	unit := uint64(1<<31) / uint64(maxEntries)
	return weights{entryUnit: unit, maxWeight: unit * uint64(maxEntries), maxBytes: uint64(maxBytes)}
}

// fits reports whether a value of n bytes can be stored at all.
func (w weights) fits(n int) bool {
	return uint64(n)+EntryOverhead <= w.maxBytes
}

// weight returns the weight of a value of n bytes; it requires fits(n).
func (w weights) weight(n int) uint32 {
	size := uint64(n) + EntryOverhead
	// ceil(size*maxWeight/maxBytes) in 128 bits. size <= maxBytes keeps the
	// quotient <= maxWeight, so hi < maxBytes and Div64 cannot panic.
	hi, lo := bits.Mul64(size, w.maxWeight)
	q, r := bits.Div64(hi, lo, w.maxBytes)
	if r != 0 {
		q++
	}
	return uint32(max(q, w.entryUnit))
}
