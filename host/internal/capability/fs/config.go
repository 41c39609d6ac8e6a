package fs

import "fmt"

// Defaults for zero Config fields.
const (
	DefaultMaxReadBytes  = 16 << 20 // Read's ceiling
	DefaultMaxWriteBytes = 16 << 20 // Write's and Copy's ceiling
	DefaultMaxUndoBytes  = 16 << 20 // a before-image's ceiling; equal to the write ceiling, so a file just written can be overwritten again
)

// Grant is one directory the operator granted: host.PathGrant without the
// import cycle.
type Grant struct {
	// Dir is an existing directory, as an absolute path. New cleans it.
	Dir string
	// ReadOnly refuses every mutation under Dir with ErrReadOnly.
	ReadOnly bool
}

// Config sets up Roots. A zero field means its default. New copies it.
type Config struct {
	// Grants are the directories the guest may use. The first one is the
	// working directory for relative paths. None at all is allowed: every
	// path is then denied.
	Grants []Grant
	// MaxReadBytes is the most Read returns. Zero means
	// DefaultMaxReadBytes; it must not be negative.
	MaxReadBytes int64
	// MaxWriteBytes is the most Write and Copy write. Zero means
	// DefaultMaxWriteBytes; it must not be negative.
	MaxWriteBytes int64
	// MaxUndoBytes bounds the before-image one operation may log: the
	// previous content of a file it overwrites or deletes. The transaction
	// keeps it in memory until it ends, and a journal stores it. Zero means
	// DefaultMaxUndoBytes; it must not be negative.
	MaxUndoBytes int64
	// AllowIrreversible logs an operation whose before-image exceeds
	// MaxUndoBytes as irreversible (a rollback reports it and leaves it)
	// instead of refusing it with ErrTooLarge.
	AllowIrreversible bool
}

// withDefaults validates cfg and fills in its zero fields. Grants are
// checked by New, which opens them.
func (cfg Config) withDefaults() (Config, error) {
	for _, f := range []struct {
		name string
		v    *int64
		def  int64
	}{
		{"MaxReadBytes", &cfg.MaxReadBytes, DefaultMaxReadBytes},
		{"MaxWriteBytes", &cfg.MaxWriteBytes, DefaultMaxWriteBytes},
		{"MaxUndoBytes", &cfg.MaxUndoBytes, DefaultMaxUndoBytes},
	} {
		if *f.v < 0 {
			return cfg, fmt.Errorf("%w: %s %d is negative", ErrInvalidConfig, f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	cfg.Grants = append([]Grant(nil), cfg.Grants...)
	return cfg, nil
}
