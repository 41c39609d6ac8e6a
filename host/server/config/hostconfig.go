package config

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/onexhost/onex-host/host"
)

// HostConfig returns the host configuration the File describes: host.NewConfig with
// logger (nil: slog.Default()), DataDir and CacheDir resolved, then each non-zero field
// of the host section. The error is a wrapped *FieldError when the host section is
// invalid (possible only for a File that was changed after Parse or Load).
func (f *File) HostConfig(logger *slog.Logger) (host.Config, error) {
	if err := f.checkHost(); err != nil {
		return host.Config{}, fmt.Errorf("config: %w", err)
	}
	h := f.Host
	c := host.NewConfig().WithLogger(logger).WithDataDir(f.path(f.DataDir)).WithCacheDir(f.path(f.CacheDir))
	if h.MemoryLimit != 0 {
		c.MemoryLimit = uint64(h.MemoryLimit)
	}
	if h.MaxInputBytes != 0 {
		c.MaxInputBytes = int(h.MaxInputBytes)
	}
	if h.Timeout != 0 {
		c.Timeout = time.Duration(h.Timeout)
	}
	if h.MaxInstances != 0 {
		c.MaxInstances = h.MaxInstances
	}
	if h.Prewarm != 0 {
		c.Prewarm = h.Prewarm
	}
	if h.Cache.Entries != 0 {
		c.CacheEntries = h.Cache.Entries
	}
	if h.Cache.Bytes != 0 {
		c.CacheBytes = int64(h.Cache.Bytes)
	}
	if h.Cache.TTL != 0 {
		c.CacheTTL = time.Duration(h.Cache.TTL)
	}
	if h.SlowThreshold != nil {
		c.SlowThreshold = time.Duration(*h.SlowThreshold)
		if c.SlowThreshold == 0 {
			c.SlowThreshold = -1 // host.Config's zero means the default
		}
	}
	c.Breakers = h.Breakers.policy()
	return c, nil
}

// policy is the preset with each non-zero field over it.
func (b BreakerSettings) policy() host.BreakerPolicy {
	var p host.BreakerPolicy // ONEX's defaults
	switch b.Preset {
	case presetFastFail:
		p = host.FastFailBreakers()
	case presetResilient:
		p = host.ResilientBreakers()
	}
	set := func(dst *int, v int) {
		if v != 0 {
			*dst = v
		}
	}
	set(&p.MinRequests, b.MinRequests)
	set(&p.FailureThreshold, b.FailureThreshold)
	set(&p.HalfOpenMaxRequests, b.HalfOpenMaxRequests)
	set(&p.SuccessThreshold, b.SuccessThreshold)
	if b.FailureRateThreshold != 0 {
		p.FailureRateThreshold = b.FailureRateThreshold
	}
	if b.Window != 0 {
		p.Window = time.Duration(b.Window)
	}
	if b.OpenTimeout != 0 {
		p.OpenTimeout = time.Duration(b.OpenTimeout)
	}
	p.Disabled = p.Disabled || b.Disabled
	return p
}
