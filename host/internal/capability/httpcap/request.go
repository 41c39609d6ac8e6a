package httpcap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/onexhost/onex-host/abi"
)

// prepared is a request that passed every check and is ready to send. It is
// not modified once prepare returns.
type prepared struct {
	method  string
	url     *url.URL
	host    string // normalized host name, as matched against the grants
	target  string // redacted URL for messages
	header  http.Header
	body    []byte
	timeout time.Duration
	maxBody int64
	success []int // nil: 200–299
	// compensating marks a compensating request: 2xx succeeds, and so do
	// 404 and 410 for a DELETE; the response body is drained and dropped.
	compensating bool
}

// safe reports whether the method does not change anything on the server
// (RFC 9110, section 9.2.1), so the request need not be recorded.
func (p *prepared) safe() bool {
	switch p.method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// prepare checks r against the grants and limits and fills in its defaults.
// It returns an error wrapping ErrInvalidRequest, ErrDenied or ErrTooLarge.
func (c *Client) prepare(r abi.HTTPRequest) (*prepared, error) {
	u, host, err := c.checkURL(r.URL)
	if err != nil {
		return nil, err
	}
	p := &prepared{url: u, host: host, target: redact(u)}

	p.method = strings.ToUpper(r.Method)
	if p.method == "" {
		p.method = http.MethodGet
	}
	if !validToken(p.method) {
		return nil, fmt.Errorf("%w: %s: method %q is not an HTTP token", ErrInvalidRequest, p.target, r.Method)
	}
	if _, ok := c.methods[p.method]; !ok {
		return nil, fmt.Errorf("%w: %s %s: method not allowed", ErrDenied, p.method, p.target)
	}

	if len(r.Headers) > 0 {
		p.header = make(http.Header, len(r.Headers))
		for name, values := range r.Headers {
			if !validToken(name) {
				return nil, fmt.Errorf("%w: %s %s: header name %q is not an HTTP token", ErrInvalidRequest, p.method, p.target, name)
			}
			for _, v := range values {
				if !validHeaderValue(v) {
					return nil, fmt.Errorf("%w: %s %s: header %s holds a control character", ErrInvalidRequest, p.method, p.target, name)
				}
				p.header.Add(name, v)
			}
		}
	}

	if int64(len(r.Body)) > c.cfg.MaxRequestBytes {
		return nil, fmt.Errorf("%w: %s %s: request body of %d bytes exceeds %d", ErrTooLarge, p.method, p.target, len(r.Body), c.cfg.MaxRequestBytes)
	}
	p.body = r.Body

	switch {
	case r.TimeoutMS < 0:
		return nil, fmt.Errorf("%w: %s %s: timeout_ms %d is negative", ErrInvalidRequest, p.method, p.target, r.TimeoutMS)
	case r.TimeoutMS == 0:
		p.timeout = c.cfg.Timeout
	case r.TimeoutMS >= c.cfg.MaxTimeout.Milliseconds():
		p.timeout = c.cfg.MaxTimeout
	default:
		p.timeout = time.Duration(r.TimeoutMS) * time.Millisecond
	}

	switch {
	case r.MaxResponseBytes < 0:
		return nil, fmt.Errorf("%w: %s %s: max_response_bytes %d is negative", ErrInvalidRequest, p.method, p.target, r.MaxResponseBytes)
	case r.MaxResponseBytes == 0:
		p.maxBody = c.cfg.MaxResponseBytes
	default:
		p.maxBody = min(r.MaxResponseBytes, c.cfg.MaxResponseBytes)
	}

	for _, code := range r.SuccessCodes {
		if code < 100 || code > 599 {
			return nil, fmt.Errorf("%w: %s %s: success code %d is outside 100–599", ErrInvalidRequest, p.method, p.target, code)
		}
	}
	p.success = r.SuccessCodes
	return p, nil
}

// checkURL parses raw and checks that it is an absolute http or https URL
// whose host is granted. It returns the URL and its normalized host name, or
// an error wrapping ErrInvalidRequest or ErrDenied.
func (c *Client) checkURL(raw string) (*url.URL, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, query included: keep only the cause.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, "", fmt.Errorf("%w: URL does not parse: %v", ErrInvalidRequest, err)
	}
	if err := c.checkParsed(u); err != nil {
		return nil, "", err
	}
	return u, hostname(u), nil
}

// checkParsed checks a parsed URL, for checkURL and for redirect targets.
func (c *Client) checkParsed(u *url.URL) error {
	switch scheme := strings.ToLower(u.Scheme); {
	case scheme == "":
		return fmt.Errorf("%w: URL %q is not absolute", ErrInvalidRequest, redact(u))
	case scheme != "http" && scheme != "https":
		return fmt.Errorf("%w: URL scheme %q is not http or https", ErrInvalidRequest, u.Scheme)
	case u.Opaque != "" || u.Host == "":
		return fmt.Errorf("%w: URL %q has no host", ErrInvalidRequest, redact(u))
	}
	h := hostname(u)
	if h == "" {
		return fmt.Errorf("%w: URL %q has no host name", ErrInvalidRequest, redact(u))
	}
	if !c.grants.match(h, port(u)) {
		return fmt.Errorf("%w: host %q port %s (grant it with --allow-host or Grants.Hosts)", ErrDenied, h, port(u))
	}
	return nil
}

// request builds the http.Request for p, bound to ctx.
func (p *prepared) request(ctx context.Context) (*http.Request, error) {
	var body io.Reader // a nil *bytes.Reader would not be a nil io.Reader
	if len(p.body) > 0 {
		body = bytes.NewReader(p.body)
	}
	hr, err := http.NewRequestWithContext(ctx, p.method, p.url.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %v", ErrInvalidRequest, p.method, p.target, err)
	}
	if p.header != nil {
		hr.Header = p.header.Clone()
	}
	return hr, nil
}

// validToken reports whether s is an HTTP token (RFC 9110, section 5.6.2),
// as method and header names must be.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v holds no control character other than
// horizontal tab, so that it cannot split or end the header block.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < 0x20 && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}
