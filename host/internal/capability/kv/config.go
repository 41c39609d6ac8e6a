package kv

import (
	"fmt"
	"time"
)

// Limits on names, fixed for every DB.
const (
	// MaxKeyLen is the longest key, and the longest List prefix, in bytes.
	MaxKeyLen = 1024
	// MaxNamespaceLen is the longest namespace name in bytes.
	MaxNamespaceLen = 255
	// MaxListLimit is the most entries one List call returns: a limit of 0,
	// or above MaxListLimit, means MaxListLimit.
	MaxListLimit = 1000
)

// Defaults for zero Config fields.
const (
	DefaultMaxValueSize = 1 << 20
	DefaultLockTimeout  = time.Second
)

// maxValueSizeLimit bounds Config.MaxValueSize well below bbolt's own limit
// (2 GiB - 2), since every value is copied in memory on its way in and out.
const maxValueSizeLimit = 1 << 30

// Config sets up a DB. A zero field means its default; OpenBolt and
// NewMemory copy it, so changing it afterwards has no effect.
type Config struct {
	// MaxValueSize is the longest value Put accepts, in bytes. Zero means
	// DefaultMaxValueSize (1 MiB); it must be in [0, 1 GiB]. Compensation
	// ignores it: a before-image is always restored, even if the limit was
	// lowered since it was written.
	MaxValueSize int
	// LockTimeout is how long OpenBolt waits for the file lock held by
	// another DB before failing with ErrLocked. Zero means
	// DefaultLockTimeout (1 s); it must not be negative. NewMemory ignores
	// it.
	LockTimeout time.Duration
	// NoSync skips the fsync after each write of a bolt DB. By default
	// (false) a Put or Delete is on disk when it returns; with NoSync it
	// is faster but a power failure or kernel crash may lose recent writes
	// or corrupt the file. Use it only for data that can be rebuilt.
	// NewMemory ignores it.
	NoSync bool
}

// withDefaults validates cfg and fills in its zero fields.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.MaxValueSize == 0 {
		cfg.MaxValueSize = DefaultMaxValueSize
	}
	if cfg.LockTimeout == 0 {
		cfg.LockTimeout = DefaultLockTimeout
	}
	switch {
	case cfg.MaxValueSize < 0 || cfg.MaxValueSize > maxValueSizeLimit:
		return cfg, fmt.Errorf("%w: MaxValueSize %d is outside [0, %d]", ErrInvalidConfig, cfg.MaxValueSize, maxValueSizeLimit)
	case cfg.LockTimeout < 0:
		return cfg, fmt.Errorf("%w: LockTimeout %v is negative", ErrInvalidConfig, cfg.LockTimeout)
	}
	return cfg, nil
}
