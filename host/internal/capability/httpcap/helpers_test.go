package httpcap

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// server is an httptest server that counts the requests reaching it.
type server struct {
	*httptest.Server
	hits atomic.Int64
}

// newServer starts a server that counts each request and then calls h (nil:
// answer 200 "ok"). It is closed when the test ends.
func newServer(t testing.TB, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if h == nil {
			_, _ = w.Write([]byte("ok"))
			return
		}
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// router returns a transport that connects a request for host name h to
// routes[h], whatever the URL's port, so tests can use names such as
// api.example.com without a network. An unrouted name fails to dial.
func router(t testing.TB, routes map[string]*server) http.RoundTripper {
	t.Helper()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			h, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			s, ok := routes[strings.ToLower(h)]
			if !ok {
				return nil, fmt.Errorf("test router: no route to %s", h)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, s.Listener.Addr().String())
		},
		MaxIdleConnsPerHost: 64,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// newClient returns a Client granted hosts whose transport routes names to
// servers.
func newClient(t testing.TB, hosts []string, cfg Config, routes map[string]*server) *Client {
	t.Helper()
	cfg.Transport = router(t, routes)
	c, err := New(hosts, cfg)
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// pair is the usual setup: api.example.com (granted) and evil.example.org
// (not granted), each with its own server.
type pair struct {
	c         *Client
	api, evil *server
}

func newPair(t testing.TB, cfg Config, api http.HandlerFunc) pair {
	t.Helper()
	p := pair{api: newServer(t, api), evil: newServer(t, nil)}
	p.c = newClient(t, []string{"api.example.com"}, cfg, map[string]*server{
		"api.example.com": p.api, "evil.example.org": p.evil,
	})
	return p
}
