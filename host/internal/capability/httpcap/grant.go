package httpcap

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gobwas/glob"
)

// grants is a compiled list of host patterns. It is immutable.
type grants []grant

// grant is one compiled pattern: a glob over the host name, and a port ("" for any).
type grant struct {
	host glob.Glob
	port string
}

// compileGrants compiles host patterns, the same ones host.Grants.Hosts accepts (see
// ParsePattern). Patterns are matched in lower case.
func compileGrants(patterns []string) (grants, error) {
	g := make(grants, 0, len(patterns))
	for _, p := range patterns {
		h, port, err := ParsePattern(p)
		if err != nil {
			return nil, fmt.Errorf("%w: host pattern %q: %v", ErrInvalidConfig, p, err)
		}
		c, err := glob.Compile(strings.ToLower(h))
		if err != nil {
			return nil, fmt.Errorf("%w: host pattern %q: %v", ErrInvalidConfig, p, err)
		}
		g = append(g, grant{host: c, port: port})
	}
	return g, nil
}

// ParsePattern splits a host pattern into its host-name glob and its port ("" when the
// pattern names none, which grants every port). A pattern is a glob over the whole
// host name ("*" matches any run of characters, dots included, so "*.example.com"
// matches "a.b.example.com" but not "example.com"), optionally followed by ":PORT"
// (1-65535) to grant that port only; an IPv6 address goes in brackets ("[::1]:8080").
// No scheme, path or user information. It does not block.
func ParsePattern(p string) (host, port string, err error) {
	const want = "want a host pattern such as api.example.com, *.example.com or 127.0.0.1:8080, without scheme or path"
	if strings.ContainsAny(p, "/@# \t\r\n") {
		return "", "", errors.New(want)
	}
	host = p
	if rest, ok := strings.CutPrefix(p, "["); ok && strings.Contains(p, "]") && strings.Contains(p[:strings.Index(p, "]")], ":") {
		end := strings.Index(rest, "]")
		host, rest = rest[:end], rest[end+1:]
		if rest != "" {
			if port, ok = strings.CutPrefix(rest, ":"); !ok {
				return "", "", errors.New("want [IPv6] or [IPv6]:PORT")
			}
		}
	} else if strings.Count(p, ":") == 1 {
		host, port, _ = strings.Cut(p, ":")
	} else if strings.Count(p, ":") > 1 {
		return "", "", errors.New("an IPv6 address goes in brackets, e.g. [::1]:8080")
	}
	if port != "" || strings.HasSuffix(p, ":") {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return "", "", fmt.Errorf("port %q: want 1-65535", port)
		}
	}
	if host == "" {
		return "", "", errors.New("empty host pattern")
	}
	if strings.Contains(host, ":") && !strings.HasPrefix(p, "[") {
		return "", "", errors.New(want)
	}
	if _, err := glob.Compile(host); err != nil {
		return "", "", err
	}
	return host, port, nil
}

// match reports whether the normalized host name h on port matches a grant.
func (g grants) match(h, port string) bool {
	if h == "" {
		return false
	}
	for _, p := range g {
		if (p.port == "" || p.port == port) && p.host.Match(h) {
			return true
		}
	}
	return false
}

// port returns u's port, or its scheme's default (80 for http, 443 for https).
func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
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
