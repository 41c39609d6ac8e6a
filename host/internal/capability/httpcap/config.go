package httpcap

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Defaults for zero Config fields.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultMaxTimeout       = 60 * time.Second
	DefaultMaxResponseBytes = 10 << 20
	DefaultMaxRequestBytes  = 10 << 20
)

// MaxRedirects is the most redirects one request follows; the response to
// the last one is returned as it is.
const MaxRedirects = 10

// defaultMethods are the methods allowed when Config.Methods is empty.
var defaultMethods = [...]string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions,
}

// Config sets the limits of a Client. A zero field means its default; New
// copies it, so changing it afterwards has no effect.
type Config struct {
	// Timeout bounds a request whose TimeoutMS is 0, from sending it to
	// reading the last byte of the response. Zero means DefaultTimeout
	// (10 s); it must not be negative.
	Timeout time.Duration
	// MaxTimeout caps a request's TimeoutMS: a longer one is cut to it. Zero
	// means the larger of DefaultMaxTimeout (60 s) and Timeout; it must not
	// be negative or below Timeout. It matters when the caller's context
	// has no deadline of its own.
	MaxTimeout time.Duration
	// MaxResponseBytes is the largest response body read, in bytes; a
	// request may ask for less (abi.HTTPRequest.MaxResponseBytes), never
	// more. Zero means DefaultMaxResponseBytes (10 MiB); it must not be
	// negative.
	MaxResponseBytes int64
	// MaxRequestBytes is the largest request body sent, in bytes. Zero means
	// DefaultMaxRequestBytes (10 MiB); it must not be negative.
	MaxRequestBytes int64
	// Methods are the methods a request may use, in any case. Empty means
	// GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS. Each must be an HTTP
	// token; CONNECT is not supported.
	Methods []string
	// Transport sends the requests. Nil means a transport of the Client's
	// own, cloned from http.DefaultTransport (so it honours the proxy
	// environment variables). Tests inject one here. The Client builds its
	// own http.Client around it, because redirects and cookies are its
	// business.
	Transport http.RoundTripper
}

// withDefaults validates cfg, fills in its zero fields and returns the set
// of allowed methods.
func (cfg Config) withDefaults() (Config, map[string]struct{}, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxTimeout == 0 {
		cfg.MaxTimeout = max(DefaultMaxTimeout, cfg.Timeout)
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.MaxRequestBytes == 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	switch {
	case cfg.Timeout < 0:
		return cfg, nil, fmt.Errorf("%w: Timeout %v is negative", ErrInvalidConfig, cfg.Timeout)
	case cfg.MaxTimeout < cfg.Timeout:
		return cfg, nil, fmt.Errorf("%w: MaxTimeout %v is below Timeout %v", ErrInvalidConfig, cfg.MaxTimeout, cfg.Timeout)
	case cfg.MaxResponseBytes < 0:
		return cfg, nil, fmt.Errorf("%w: MaxResponseBytes %d is negative", ErrInvalidConfig, cfg.MaxResponseBytes)
	case cfg.MaxRequestBytes < 0:
		return cfg, nil, fmt.Errorf("%w: MaxRequestBytes %d is negative", ErrInvalidConfig, cfg.MaxRequestBytes)
	}
	list := cfg.Methods
	if len(list) == 0 {
		list = defaultMethods[:]
	}
	methods := make(map[string]struct{}, len(list))
	for _, m := range list {
		m = strings.ToUpper(m)
		if !validToken(m) || m == http.MethodConnect {
			return cfg, nil, fmt.Errorf("%w: method %q", ErrInvalidConfig, m)
		}
		methods[m] = struct{}{}
	}
	cfg.Methods = nil // the set is what counts; don't keep the caller's slice
	return cfg, methods, nil
}
