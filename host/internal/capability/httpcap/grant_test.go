package httpcap

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNew_Patterns(t *testing.T) {
	tests := []struct {
		name    string
		hosts   []string
		wantErr bool
	}{
		{name: "none", hosts: nil},
		{name: "exact", hosts: []string{"api.example.com"}},
		{name: "wildcard", hosts: []string{"*.example.com", "*"}},
		{name: "alternatives and classes", hosts: []string{"{a,b}.example.com", "api-[0-9].example.com", "api?.example.com"}},
		{name: "empty", hosts: []string{""}, wantErr: true},
		{name: "scheme", hosts: []string{"https://api.example.com"}, wantErr: true},
		{name: "port", hosts: []string{"api.example.com:443"}, wantErr: true},
		{name: "path", hosts: []string{"api.example.com/v1"}, wantErr: true},
		{name: "space", hosts: []string{"api example.com"}, wantErr: true},
		{name: "user info", hosts: []string{"me@api.example.com"}, wantErr: true},
		{name: "unclosed class", hosts: []string{"api[.example.com"}, wantErr: true},
		{name: "one bad among good", hosts: []string{"api.example.com", "x:1"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.hosts, Config{})
			if tt.wantErr {
				require.ErrorIs(t, err, ErrInvalidConfig)
				assert.Nil(t, c)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestNew_Config(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "negative timeout", cfg: Config{Timeout: -1}},
		{name: "max timeout below timeout", cfg: Config{Timeout: time.Minute, MaxTimeout: time.Second}},
		{name: "negative max timeout", cfg: Config{MaxTimeout: -1}},
		{name: "negative response limit", cfg: Config{MaxResponseBytes: -1}},
		{name: "negative request limit", cfg: Config{MaxRequestBytes: -1}},
		{name: "bad method", cfg: Config{Methods: []string{"GET", "NO GOOD"}}},
		{name: "empty method", cfg: Config{Methods: []string{""}}},
		{name: "connect", cfg: Config{Methods: []string{"connect"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(nil, tt.cfg)
			require.ErrorIs(t, err, ErrInvalidConfig)
		})
	}

	t.Run("defaults", func(t *testing.T) {
		c, err := New(nil, Config{})
		require.NoError(t, err)
		assert.Equal(t, DefaultTimeout, c.cfg.Timeout)
		assert.Equal(t, DefaultMaxTimeout, c.cfg.MaxTimeout)
		assert.Equal(t, int64(DefaultMaxResponseBytes), c.cfg.MaxResponseBytes)
		assert.Equal(t, int64(DefaultMaxRequestBytes), c.cfg.MaxRequestBytes)
		assert.Len(t, c.methods, 7)
		assert.NotContains(t, c.methods, "TRACE")
	})
	t.Run("long timeout raises the max", func(t *testing.T) {
		c, err := New(nil, Config{Timeout: 2 * time.Minute})
		require.NoError(t, err)
		assert.Equal(t, 2*time.Minute, c.cfg.MaxTimeout)
	})
}

func TestClient_Granted(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		allow    []string
		deny     []string
	}{
		{
			name:     "exact",
			patterns: []string{"api.example.com"},
			allow:    []string{"api.example.com", "API.Example.COM", "api.example.com."},
			deny:     []string{"example.com", "x.api.example.com", "api.example.com.evil.org", "api.example.co", ""},
		},
		{
			name:     "subdomains",
			patterns: []string{"*.example.com"},
			allow:    []string{"a.example.com", "a.b.example.com"},
			deny:     []string{"example.com", "evil-example.com", "example.com.evil.org", "a.example.org"},
		},
		{
			name:     "any",
			patterns: []string{"*"},
			allow:    []string{"example.com", "localhost", "127.0.0.1"},
			deny:     []string{""},
		},
		{
			name:     "upper-case pattern",
			patterns: []string{"API.Example.com"},
			allow:    []string{"api.example.com"},
		},
		{
			name:     "classes and alternatives",
			patterns: []string{"api-[0-9].example.com", "{eu,us}.example.net"},
			allow:    []string{"api-1.example.com", "eu.example.net", "us.example.net"},
			deny:     []string{"api-x.example.com", "asia.example.net"},
		},
		{
			name: "no grants",
			deny: []string{"api.example.com", "localhost"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.patterns, Config{})
			require.NoError(t, err)
			for _, h := range tt.allow {
				assert.True(t, c.Granted(h), "%q should be granted", h)
			}
			for _, h := range tt.deny {
				assert.False(t, c.Granted(h), "%q should be denied", h)
			}
		})
	}
}

func TestService(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{name: "plain", url: "https://api.example.com/v1/items?key=secret", want: "http:api.example.com"},
		{name: "port and case", url: "http://API.example.com:8080/", want: "http:api.example.com"},
		{name: "trailing dot", url: "http://api.example.com./", want: "http:api.example.com"},
		{name: "ipv6", url: "http://[::1]:80/", want: "http:::1"},
		{name: "user info", url: "http://me:pw@api.example.com/", want: "http:api.example.com"},
		{name: "unparsable", url: "http://a b.com/%zz", want: "http:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Service(tt.url))
		})
	}
}
