package httpcap

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/gobwas/glob"
)

// grants is a compiled list of host-name patterns. It is immutable.
type grants []glob.Glob

// compileGrants compiles host-name patterns, the same ones host.Grants.Hosts
// accepts: a glob over the whole name ("*" matches any run of characters,
// dots included, so "*.example.com" matches "a.b.example.com" but not
// "example.com"), without scheme, port or path. Patterns are matched in lower
// case.
func compileGrants(patterns []string) (grants, error) {
	g := make(grants, 0, len(patterns))
	for _, p := range patterns {
		if err := validPattern(p); err != nil {
			return nil, fmt.Errorf("%w: host pattern %q: %v", ErrInvalidConfig, p, err)
		}
		c, err := glob.Compile(strings.ToLower(p))
		if err != nil {
			return nil, fmt.Errorf("%w: host pattern %q: %v", ErrInvalidConfig, p, err)
		}
		g = append(g, c)
	}
	return g, nil
}

// validPattern rejects what cannot be a host-name pattern.
func validPattern(p string) error {
	if p == "" {
		return errors.New("empty pattern")
	}
	if strings.ContainsAny(p, "/:@# \t\r\n") {
		return errors.New("want a host name pattern such as api.example.com or *.example.com, without scheme, port or path")
	}
	return nil
}

// match reports whether the normalized host name h matches a grant.
func (g grants) match(h string) bool {
	if h == "" {
		return false
	}
	for _, p := range g {
		if p.Match(h) {
			return true
		}
	}
	return false
}

// hostname returns u's host name as grants see it: lower case, without port,
// brackets or a trailing dot.
func hostname(u *url.URL) string {
	return normalizeHost(u.Hostname())
}

func normalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// Service returns the name of the circuit breaker guarding rawURL's host,
// "http:<hostname>" with the host name in lower case and without port, so
// that every request to one host shares a breaker. A URL that does not
// parse gives "http:". It does not block.
func Service(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "http:"
	}
	return "http:" + hostname(u)
}

// redact returns u as scheme://host/path, without user information, query
// or fragment, for messages and reports.
func redact(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return r.String()
}
