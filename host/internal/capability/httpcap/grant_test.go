package httpcap

import (
	"net/url"
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
		{name: "port", hosts: []string{"api.example.com:443", "127.0.0.1:8080", "[::1]:8080", "[::1]", "*.example.com:1"}},
		{name: "port 0", hosts: []string{"api.example.com:0"}, wantErr: true},
		{name: "port too large", hosts: []string{"api.example.com:65536"}, wantErr: true},
		{name: "empty port", hosts: []string{"api.example.com:"}, wantErr: true},
		{name: "named port", hosts: []string{"api.example.com:http"}, wantErr: true},
		{name: "port only", hosts: []string{":8080"}, wantErr: true},
		{name: "IPv6 without brackets", hosts: []string{"::1"}, wantErr: true},
		{name: "IPv6 junk after the bracket", hosts: []string{"[::1]x"}, wantErr: true},
		{name: "path", hosts: []string{"api.example.com/v1"}, wantErr: true},
		{name: "space", hosts: []string{"api example.com"}, wantErr: true},
		{name: "user info", hosts: []string{"me@api.example.com"}, wantErr: true},
		{name: "unclosed class", hosts: []string{"api[.example.com"}, wantErr: true},
		{name: "one bad among good", hosts: []string{"api.example.com", "x:0"}, wantErr: true},
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
		{
			name:     "a host without a port grants every port",
			patterns: []string{"127.0.0.1"},
			allow:    []string{"127.0.0.1", "127.0.0.1:8080", "127.0.0.1:1"},
		},
		{
			name:     "host:port grants that port only",
			patterns: []string{"127.0.0.1:8080", "api.example.com:443"},
			allow:    []string{"127.0.0.1:8080"},
			deny:     []string{"127.0.0.1", "127.0.0.1:8081", "127.0.0.1:80", "api.example.com", "api.example.com:8443"},
		},
		{
			name:     "default port",
			patterns: []string{"api.example.com:80"},
			allow:    []string{"api.example.com", "api.example.com:80"},
			deny:     []string{"api.example.com:8080"},
		},
		{
			name:     "IPv6 with a port",
			patterns: []string{"[::1]:8080"},
			allow:    []string{"[::1]:8080"},
			deny:     []string{"[::1]", "[::1]:8081"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.patterns, Config{})
			require.NoError(t, err)
			// Each host is an http URL's host: port 80 unless it names one.
			for _, h := range tt.allow {
				assert.True(t, c.Granted(&url.URL{Scheme: "http", Host: h}), "%q should be granted", h)
			}
			for _, h := range tt.deny {
				assert.False(t, c.Granted(&url.URL{Scheme: "http", Host: h}), "%q should be denied", h)
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
