package httpcap

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/onexhost/onex-host/abi"
)

// maxExcerpt is the most bytes of an unsuccessful response's body kept in a
// StatusError, and maxDrain the most read from a compensating request's
// response so that its connection can be reused.
const (
	maxExcerpt = 512
	maxDrain   = 64 << 10
)

// Client sends one plugin's HTTP requests to the hosts it was granted. Create
// one with New; the zero value is not usable.
//
// A Client is safe for concurrent use by multiple goroutines: it is
// immutable after New, and its connections are pooled by its transport.
type Client struct {
	cfg     Config
	grants  grants
	methods map[string]struct{}
	hc      *http.Client
}

// New compiles the granted host-name patterns (see host.Grants.Hosts:
// "api.example.com", "*.example.com", "*") and returns a Client with cfg's
// limits. No pattern means every host is denied. It returns an error wrapping
// ErrInvalidConfig for an empty or malformed pattern, or one with a scheme,
// port or path, and for a Config field out of range.
func New(hosts []string, cfg Config) (*Client, error) {
	g, err := compileGrants(hosts)
	if err != nil {
		return nil, err
	}
	cfg, methods, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rt := cfg.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 32 // many attempts reach one API at once; the default keeps 2
		rt = t
	}
	c := &Client{cfg: cfg, grants: g, methods: methods}
	c.hc = &http.Client{Transport: rt, CheckRedirect: c.checkRedirect}
	return c, nil
}

// Granted reports whether a request to u would pass the grants: its host name (case
// and a trailing dot do not matter) and its port (the scheme's default when u names
// none). It does not check the rest of the URL.
func (c *Client) Granted(u *url.URL) bool { return c.grants.match(hostname(u), port(u)) }

// CloseIdleConnections closes the transport's idle connections, for a host
// unloading the plugin. The Client stays usable.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// Do sends req and returns the response, blocking until the response body
// has been read, the timeout passes or ctx ends. The request's URL, method,
// headers and size are checked first (see the package comment); a request
// that fails a check is not sent. The returned Body is the Client's own
// copy, and Headers is the response's header map, both owned by the caller.
//
// Do returns an error wrapping ErrInvalidRequest, ErrDenied (also for a
// redirect to a host not granted), ErrTooLarge, ErrTimeout or ErrUnavailable;
// a *StatusError for a status that is not a success code, together with a
// response holding the status and headers but no body; or, when ctx was
// canceled, an error wrapping context.Canceled. StatusOf maps each to what
// the guest gets.
func (c *Client) Do(ctx context.Context, req abi.HTTPRequest) (abi.HTTPResponse, error) {
	p, err := c.prepare(req)
	if err != nil {
		return abi.HTTPResponse{}, err
	}
	return c.send(ctx, p)
}

// send performs a prepared request.
func (c *Client) send(ctx context.Context, p *prepared) (abi.HTTPResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	hr, err := p.request(ctx)
	if err != nil {
		return abi.HTTPResponse{}, err
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return abi.HTTPResponse{}, p.transportError(ctx, err)
	}
	defer resp.Body.Close()

	out := abi.HTTPResponse{Status: resp.StatusCode, Headers: resp.Header}
	if !p.succeeded(resp.StatusCode) {
		excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, maxExcerpt))
		return out, &StatusError{
			Method:    p.method,
			URL:       p.target,
			Status:    resp.StatusCode,
			Retryable: retryableStatus(resp.StatusCode),
			Excerpt:   strings.ToValidUTF8(trimPartialRune(excerpt), "\uFFFD"),
		}
	}
	if p.compensating {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain)) // only for reuse of the connection
		return out, nil
	}
	if p.method != http.MethodHead && resp.ContentLength > p.maxBody {
		return abi.HTTPResponse{}, fmt.Errorf("%w: %s %s: response body of %d bytes exceeds %d", ErrTooLarge, p.method, p.target, resp.ContentLength, p.maxBody)
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead) // ReadFrom wants MinRead spare bytes to not grow
	}
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, p.maxBody+1)); err != nil {
		return abi.HTTPResponse{}, p.transportError(ctx, err)
	}
	if int64(buf.Len()) > p.maxBody {
		return abi.HTTPResponse{}, fmt.Errorf("%w: %s %s: response body exceeds %d bytes", ErrTooLarge, p.method, p.target, p.maxBody)
	}
	if buf.Len() > 0 {
		out.Body = buf.Bytes()
	}
	return out, nil
}

// succeeded reports whether the status code counts as success.
func (p *prepared) succeeded(code int) bool {
	switch {
	case p.success != nil:
		return slices.Contains(p.success, code)
	case p.compensating && p.method == http.MethodDelete && (code == http.StatusNotFound || code == http.StatusGone):
		return true // what the compensation wants gone is gone
	}
	return code >= 200 && code <= 299
}

// transportError classifies an error from sending p or reading its
// response; ctx is the request's own context.
func (p *prepared) transportError(ctx context.Context, err error) error {
	// A *url.Error quotes the whole URL, query included, which may hold
	// secrets: keep only its cause.
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	var netErr net.Error
	switch {
	case errors.Is(err, ErrDenied):
		return fmt.Errorf("%w (redirected from %s %s)", err, p.method, p.target)
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("httpcap: %s %s: %w", p.method, p.target, context.Canceled)
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %s %s: no response within %v or the caller's deadline: %w", ErrTimeout, p.method, p.target, p.timeout, context.DeadlineExceeded)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("%w: %s %s: %w", ErrTimeout, p.method, p.target, err)
	case isCertificateError(err):
		return fmt.Errorf("httpcap: %s %s: %w", p.method, p.target, err) // not retryable: it would fail again
	}
	return fmt.Errorf("%w: %s %s: %w", ErrUnavailable, p.method, p.target, err)
}

// isCertificateError reports whether err is a failed verification of the
// server's certificate.
func isCertificateError(err error) bool {
	var verr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var invErr x509.CertificateInvalidError
	return errors.As(err, &verr) || errors.As(err, &hostErr) || errors.As(err, &authErr) || errors.As(err, &invErr)
}

// checkRedirect is the http.Client's CheckRedirect: every redirect target
// must pass the same checks as the first URL, and after MaxRedirects the
// last response is returned as it is.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects { // via holds the requests sent so far: MaxRedirects redirects followed
		return http.ErrUseLastResponse
	}
	if err := c.checkParsed(req.URL); err != nil {
		if errors.Is(err, ErrInvalidRequest) {
			// The plugin asked for nothing invalid: the server sent it there.
			return fmt.Errorf("%w: redirect to %s, not an http or https URL with a host", ErrDenied, redact(req.URL))
		}
		return err
	}
	return nil
}

// trimPartialRune drops an incomplete UTF-8 sequence cut at the end of b.
func trimPartialRune(b []byte) string {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return string(b[:i])
			}
			break
		}
	}
	return string(b)
}
