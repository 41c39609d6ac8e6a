package config_test

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/server/config"
)

func TestFile_HostConfig(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	f, err := config.Parse([]byte(`
host:
  memory_limit: 256MiB
  timeout: -1
  max_instances: 3
  prewarm: -1
  cache: {entries: 10, bytes: 1MiB, ttl: 5m}
`))
	require.NoError(t, err)
	c, err := f.HostConfig(logger)
	require.NoError(t, err)
	assert.Equal(t, uint64(256<<20), c.MemoryLimit)
	assert.Negative(t, c.Timeout)
	assert.Equal(t, 3, c.MaxInstances)
	assert.Equal(t, -1, c.Prewarm)
	assert.Equal(t, 10, c.CacheEntries)
	assert.Equal(t, int64(1<<20), c.CacheBytes)
	assert.Equal(t, 5*time.Minute, c.CacheTTL)
	assert.Same(t, logger, c.Logger)
	assert.Equal(t, host.DefaultIdleTimeout, c.IdleTimeout, "fields the file lacks keep the host's defaults")

	f.Host.MaxInstances = -2
	_, err = f.HostConfig(logger)
	var fe *config.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "host.max_instances", fe.Field)
}

func TestFile_HostConfig_Breakers(t *testing.T) {
	withoutFunc := func(p host.BreakerPolicy) host.BreakerPolicy { p.IsFailure = nil; return p }
	fastFail := withoutFunc(host.FastFailBreakers())
	resilient := withoutFunc(host.ResilientBreakers())
	tests := []struct {
		name     string
		breakers string
		want     func() host.BreakerPolicy
	}{
		{name: "absent", breakers: "{}", want: func() host.BreakerPolicy { return host.BreakerPolicy{} }},
		{name: "default", breakers: "{preset: default}", want: func() host.BreakerPolicy { return host.BreakerPolicy{} }},
		{name: "fast-fail", breakers: "{preset: fast-fail}", want: func() host.BreakerPolicy { return fastFail }},
		{name: "resilient", breakers: "{preset: resilient}", want: func() host.BreakerPolicy { return resilient }},
		{
			name:     "resilient with overrides",
			breakers: "{preset: resilient, min_requests: 7, failure_rate_threshold: 0.9, open_timeout: 5s, success_threshold: 1}",
			want: func() host.BreakerPolicy {
				p := resilient
				p.MinRequests, p.FailureRateThreshold, p.OpenTimeout, p.SuccessThreshold = 7, 0.9, 5*time.Second, 1
				return p
			},
		},
		{
			name:     "fields without a preset",
			breakers: "{failure_threshold: 2, window: 10s, half_open_max_requests: 1}",
			want: func() host.BreakerPolicy {
				return host.BreakerPolicy{FailureThreshold: 2, Window: 10 * time.Second, HalfOpenMaxRequests: 1}
			},
		},
		{
			name:     "disabled",
			breakers: "{preset: fast-fail, disabled: true}",
			want:     func() host.BreakerPolicy { p := fastFail; p.Disabled = true; return p },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := config.Parse([]byte("host: {breakers: " + tc.breakers + "}\n"))
			require.NoError(t, err)
			c, err := f.HostConfig(nil)
			require.NoError(t, err)
			assert.Equal(t, tc.want(), withoutFunc(c.Breakers))
		})
	}
}

func TestLog_Logger(t *testing.T) {
	tests := []struct {
		name   string
		log    config.Log
		debug  bool
		prefix string
	}{
		{name: "text info", log: config.Log{Level: "info", Format: "text"}, prefix: "time="},
		{name: "json debug", log: config.Log{Level: "debug", Format: "json"}, debug: true, prefix: "{"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := tc.log.Logger(&buf)
			require.NoError(t, err)
			l.Info("hello")
			assert.True(t, bytes.HasPrefix(buf.Bytes(), []byte(tc.prefix)), buf.String())
			assert.Equal(t, tc.debug, l.Enabled(t.Context(), slog.LevelDebug))
		})
	}
	var fe *config.FieldError
	_, err := config.Log{Level: "loud", Format: "text"}.Logger(&bytes.Buffer{})
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "log.level", fe.Field)
	_, err = config.Log{Level: "info", Format: "xml"}.Logger(&bytes.Buffer{})
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "log.format", fe.Field)
}

func TestFile_HostConfig_SlowThreshold(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want time.Duration
		off  bool
	}{
		{name: "absent", doc: "host: {}", want: host.DefaultSlowThreshold},
		{name: "set", doc: "host: {slow_threshold: 2s}", want: 2 * time.Second},
		{name: "zero disables", doc: "host: {slow_threshold: 0}", off: true},
		{name: "negative disables", doc: "host: {slow_threshold: -1}", off: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := config.Parse([]byte(tt.doc))
			require.NoError(t, err)
			c, err := f.HostConfig(nil)
			require.NoError(t, err)
			if tt.off {
				assert.Negative(t, c.SlowThreshold)
			} else {
				assert.Equal(t, tt.want, c.SlowThreshold)
			}
		})
	}
}
