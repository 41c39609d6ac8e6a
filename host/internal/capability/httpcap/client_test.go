package httpcap

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

func TestClient_Do_Grants(t *testing.T) {
	p := newPair(t, Config{}, nil)
	wild := newClient(t, []string{"*.example.com"}, Config{}, map[string]*server{
		"api.example.com": p.api, "deep.api.example.com": p.api, "evil.example.org": p.evil,
	})
	onePort := newClient(t, []string{"api.example.com:8080"}, Config{}, map[string]*server{"api.example.com": p.api})
	tests := []struct {
		name    string
		c       *Client
		url     string
		wantErr error
	}{
		{name: "granted", c: p.c, url: "http://api.example.com/x"},
		{name: "granted port", c: onePort, url: "http://api.example.com:8080/x"},
		{name: "ungranted port", c: onePort, url: "http://api.example.com:8081/x", wantErr: ErrDenied},
		{name: "ungranted default port", c: onePort, url: "https://api.example.com/x", wantErr: ErrDenied},
		{name: "granted with port and case", c: p.c, url: "http://API.example.com:8080/x"},
		{name: "ungranted", c: p.c, url: "http://evil.example.org/x", wantErr: ErrDenied},
		{name: "ungranted behind user info", c: p.c, url: "http://api.example.com@evil.example.org/x", wantErr: ErrDenied},
		{name: "wildcard", c: wild, url: "http://deep.api.example.com/x"},
		{name: "wildcard ungranted", c: wild, url: "https://evil.example.org/x", wantErr: ErrDenied},
	}
	wantHits := int64(0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.c.Do(context.Background(), abi.HTTPRequest{URL: tt.url})
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Zero(t, resp.Status)
				return
			}
			wantHits++
			require.NoError(t, err)
			assert.Equal(t, 200, resp.Status)
			assert.Equal(t, "ok", string(resp.Body))
		})
	}
	assert.Equal(t, wantHits, p.api.hits.Load())
	assert.Zero(t, p.evil.hits.Load(), "no request may reach a host that is not granted")
}

func TestClient_Do_InvalidURL(t *testing.T) {
	p := newPair(t, Config{}, nil)
	for _, u := range []string{
		"", "api.example.com/x", "/x", "//api.example.com/x", "ftp://api.example.com/x",
		"file:///etc/passwd", "javascript:alert(1)", "http:api.example.com", "http:///x",
		"http://:80/x", "http://api.example.com/%zz", "http://api example.com/",
	} {
		t.Run(u, func(t *testing.T) {
			_, err := p.c.Do(context.Background(), abi.HTTPRequest{URL: u})
			require.ErrorIs(t, err, ErrInvalidRequest)
		})
	}
	assert.Zero(t, p.api.hits.Load())
}

func TestClient_Do_Redirect(t *testing.T) {
	p := newPair(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-granted":
			http.Redirect(w, r, "http://api.example.com/final", http.StatusFound)
		case "/to-ungranted":
			http.Redirect(w, r, "http://evil.example.org/final", http.StatusFound)
		case "/to-ftp":
			http.Redirect(w, r, "ftp://api.example.com/final", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/post-307":
			http.Redirect(w, r, "/echo", http.StatusTemporaryRedirect)
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			_, _ = w.Write(append([]byte(r.Method+" "), b...))
		default:
			_, _ = w.Write([]byte("final"))
		}
	})
	do := func(method, path string, body string) (abi.HTTPResponse, error) {
		return p.c.Do(context.Background(), abi.HTTPRequest{Method: method, URL: "http://api.example.com" + path, Body: []byte(body)})
	}

	t.Run("granted target followed", func(t *testing.T) {
		before := p.api.hits.Load()
		resp, err := do("GET", "/to-granted", "")
		require.NoError(t, err)
		assert.Equal(t, "final", string(resp.Body))
		assert.Equal(t, before+2, p.api.hits.Load())
	})
	t.Run("307 keeps method and body", func(t *testing.T) {
		resp, err := do("POST", "/post-307", "payload")
		require.NoError(t, err)
		assert.Equal(t, "POST payload", string(resp.Body))
	})
	t.Run("ungranted target refused", func(t *testing.T) {
		_, err := do("GET", "/to-ungranted", "")
		require.ErrorIs(t, err, ErrDenied)
		assert.Contains(t, err.Error(), "evil.example.org")
		assert.Zero(t, p.evil.hits.Load())
	})
	t.Run("non-http target refused", func(t *testing.T) {
		_, err := do("GET", "/to-ftp", "")
		require.ErrorIs(t, err, ErrDenied)
	})
	t.Run("too many redirects return the last response", func(t *testing.T) {
		before := p.api.hits.Load()
		resp, err := do("GET", "/loop", "")
		se, ok := errors.AsType[*StatusError](err)
		require.True(t, ok, "got %v", err)
		assert.Equal(t, http.StatusFound, se.Status)
		assert.False(t, se.Retryable)
		assert.Equal(t, http.StatusFound, resp.Status)
		assert.Equal(t, before+MaxRedirects+1, p.api.hits.Load())
	})
	t.Run("3xx as a success code", func(t *testing.T) {
		resp, err := p.c.Do(context.Background(), abi.HTTPRequest{URL: "http://api.example.com/loop", SuccessCodes: []int{302}})
		require.NoError(t, err)
		assert.Equal(t, "/loop", resp.Headers["Location"][0])
	})
}

func TestClient_Do_RoundTrip(t *testing.T) {
	p := newPair(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Token", r.Header.Get("X-Token"))
		w.Header()["X-Multi"] = r.Header.Values("X-Multi")
		w.Header().Set("X-Query", r.URL.RawQuery)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(append([]byte("got:"), body...))
	})
	tests := []struct {
		name       string
		method     string
		body       string
		wantMethod string
		wantBody   string
	}{
		{name: "default GET", method: "", wantMethod: "GET", wantBody: "got:"},
		{name: "POST", method: "POST", body: `{"a":1}`, wantMethod: "POST", wantBody: `got:{"a":1}`},
		{name: "lower-case put", method: "put", body: "x", wantMethod: "PUT", wantBody: "got:x"},
		{name: "PATCH", method: "PATCH", body: "y", wantMethod: "PATCH", wantBody: "got:y"},
		{name: "DELETE", method: "DELETE", wantMethod: "DELETE", wantBody: "got:"},
		{name: "OPTIONS", method: "OPTIONS", wantMethod: "OPTIONS", wantBody: "got:"},
		{name: "HEAD has no body", method: "HEAD", wantMethod: "HEAD", wantBody: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.c.Do(context.Background(), abi.HTTPRequest{
				Method:       tt.method,
				URL:          "http://api.example.com/items?q=1&r=two",
				Headers:      map[string][]string{"x-token": {"secret"}, "X-Multi": {"a", "b"}},
				Body:         []byte(tt.body),
				SuccessCodes: []int{201},
			})
			require.NoError(t, err)
			assert.Equal(t, http.StatusCreated, resp.Status)
			assert.Equal(t, tt.wantBody, string(resp.Body))
			h := http.Header(resp.Headers)
			assert.Equal(t, tt.wantMethod, h.Get("X-Method"))
			assert.Equal(t, "secret", h.Get("X-Token"))
			assert.Equal(t, []string{"a", "b"}, h.Values("X-Multi"))
			assert.Equal(t, "q=1&r=two", h.Get("X-Query"))
		})
	}
}

func TestClient_Do_Refused(t *testing.T) {
	p := newPair(t, Config{MaxRequestBytes: 10}, nil)
	getOnly := newClient(t, []string{"api.example.com"}, Config{Methods: []string{"get"}}, map[string]*server{"api.example.com": p.api})
	const u = "http://api.example.com/x"
	tests := []struct {
		name    string
		c       *Client
		req     abi.HTTPRequest
		wantErr error
	}{
		{name: "method not allowed by config", c: getOnly, req: abi.HTTPRequest{Method: "POST", URL: u}, wantErr: ErrDenied},
		{name: "TRACE not allowed by default", c: p.c, req: abi.HTTPRequest{Method: "TRACE", URL: u}, wantErr: ErrDenied},
		{name: "method not a token", c: p.c, req: abi.HTTPRequest{Method: "GET /evil", URL: u}, wantErr: ErrInvalidRequest},
		{name: "header name not a token", c: p.c, req: abi.HTTPRequest{URL: u, Headers: map[string][]string{"X Bad": {"v"}}}, wantErr: ErrInvalidRequest},
		{name: "header value splits", c: p.c, req: abi.HTTPRequest{URL: u, Headers: map[string][]string{"X-A": {"v\r\nX-B: w"}}}, wantErr: ErrInvalidRequest},
		{name: "body too large", c: p.c, req: abi.HTTPRequest{Method: "POST", URL: u, Body: []byte("01234567890")}, wantErr: ErrTooLarge},
		{name: "negative timeout", c: p.c, req: abi.HTTPRequest{URL: u, TimeoutMS: -1}, wantErr: ErrInvalidRequest},
		{name: "negative response limit", c: p.c, req: abi.HTTPRequest{URL: u, MaxResponseBytes: -1}, wantErr: ErrInvalidRequest},
		{name: "success code out of range", c: p.c, req: abi.HTTPRequest{URL: u, SuccessCodes: []int{200, 600}}, wantErr: ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.Do(context.Background(), tt.req)
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
	assert.Zero(t, p.api.hits.Load(), "a refused request is never sent")

	resp, err := p.c.Do(context.Background(), abi.HTTPRequest{Method: "POST", URL: u, Body: []byte("0123456789")})
	require.NoError(t, err, "a body of exactly MaxRequestBytes is sent")
	assert.Equal(t, 200, resp.Status)
}

func TestClient_Do_ResponseLimit(t *testing.T) {
	p := newPair(t, Config{MaxResponseBytes: 100}, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("chunked") != "" {
			// No Content-Length: the size is known only by reading.
			for range n {
				_, _ = w.Write([]byte("x"))
				w.(http.Flusher).Flush()
			}
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		_, _ = w.Write([]byte(strings.Repeat("x", n)))
	})
	tests := []struct {
		name    string
		query   string
		max     int64
		wantLen int
		wantErr bool
	}{
		{name: "under", query: "n=10", wantLen: 10},
		{name: "exactly the limit", query: "n=100", wantLen: 100},
		{name: "over by content length", query: "n=101", wantErr: true},
		{name: "chunked exactly", query: "n=100&chunked=1", wantLen: 100},
		{name: "chunked over", query: "n=101&chunked=1", wantErr: true},
		{name: "request lowers the limit", query: "n=50", max: 49, wantErr: true},
		{name: "request cannot raise the limit", query: "n=101", max: 1000, wantErr: true},
		{name: "empty", query: "n=0", wantLen: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.c.Do(context.Background(), abi.HTTPRequest{URL: "http://api.example.com/?" + tt.query, MaxResponseBytes: tt.max})
			if tt.wantErr {
				require.ErrorIs(t, err, ErrTooLarge)
				assert.Nil(t, resp.Body)
				return
			}
			require.NoError(t, err)
			assert.Len(t, resp.Body, tt.wantLen)
		})
	}
}

func TestClient_Do_Timeout(t *testing.T) {
	// The handler blocks until the client gives up (or the test ends).
	stop := make(chan struct{})
	p := newPair(t, Config{Timeout: 100 * time.Millisecond}, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			w.Header().Set("Content-Length", "10")
			_, _ = w.Write([]byte("x"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
	t.Cleanup(func() { close(stop) }) // runs before the server's Close
	// long waits 10 s by default: a case using it fails the time bound below
	// unless the request's own timeout or the caller's deadline ends it.
	long := newClient(t, []string{"api.example.com"}, Config{}, map[string]*server{"api.example.com": p.api})
	// Contexts are made when a case starts, so that earlier cases don't eat
	// their time.
	deadline := func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	canceled := func(t *testing.T) context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		timer := time.AfterFunc(100*time.Millisecond, cancel)
		t.Cleanup(func() { timer.Stop(); cancel() })
		return ctx
	}

	const u = "http://api.example.com/"
	tests := []struct {
		name    string
		c       *Client
		ctx     func(t *testing.T) context.Context // nil: Background
		req     abi.HTTPRequest
		wantErr error
	}{
		{name: "config timeout", c: p.c, req: abi.HTTPRequest{URL: u}, wantErr: ErrTimeout},
		{name: "request timeout", c: long, req: abi.HTTPRequest{URL: u, TimeoutMS: 100}, wantErr: ErrTimeout},
		{name: "caller deadline caps a long request timeout", c: long, ctx: deadline, req: abi.HTTPRequest{URL: u, TimeoutMS: 60_000}, wantErr: ErrTimeout},
		{name: "timeout while reading the body", c: long, req: abi.HTTPRequest{URL: u + "slow-body", TimeoutMS: 100}, wantErr: ErrTimeout},
		{name: "caller canceled", c: long, ctx: canceled, req: abi.HTTPRequest{URL: u, TimeoutMS: 60_000}, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx(t)
			}
			start := time.Now()
			_, err := tt.c.Do(ctx, tt.req)
			require.ErrorIs(t, err, tt.wantErr)
			if tt.wantErr == ErrTimeout {
				assert.ErrorIs(t, err, context.DeadlineExceeded)
			} else {
				assert.NotErrorIs(t, err, ErrTimeout)
			}
			assert.Less(t, time.Since(start), 2*time.Second)
		})
	}
}

func TestClient_Do_SuccessCodes(t *testing.T) {
	p := newPair(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		w.WriteHeader(code)
		_, _ = w.Write([]byte("body of " + strconv.Itoa(code)))
	})
	tests := []struct {
		name          string
		code          int
		success       []int
		wantErr       bool
		wantRetryable bool
	}{
		{name: "200 default", code: 200},
		{name: "204 default", code: 204},
		{name: "299 default", code: 299},
		{name: "400 not retryable", code: 400, wantErr: true},
		{name: "404 not retryable", code: 404, wantErr: true},
		{name: "409 not retryable", code: 409, wantErr: true},
		{name: "429 retryable", code: 429, wantErr: true, wantRetryable: true},
		{name: "500 retryable", code: 500, wantErr: true, wantRetryable: true},
		{name: "503 retryable", code: 503, wantErr: true, wantRetryable: true},
		{name: "custom 404 succeeds", code: 404, success: []int{200, 404}},
		{name: "custom excludes 200", code: 200, success: []int{201}, wantErr: true},
		{name: "custom 503 succeeds", code: 503, success: []int{503}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.c.Do(context.Background(), abi.HTTPRequest{URL: "http://api.example.com/" + strconv.Itoa(tt.code), SuccessCodes: tt.success})
			assert.Equal(t, tt.code, resp.Status)
			if !tt.wantErr {
				require.NoError(t, err)
				if tt.code != 204 {
					assert.Equal(t, "body of "+strconv.Itoa(tt.code), string(resp.Body))
				}
				return
			}
			require.ErrorIs(t, err, ErrStatus)
			se, ok := errors.AsType[*StatusError](err)
			require.True(t, ok)
			assert.Equal(t, tt.code, se.Status)
			assert.Equal(t, tt.wantRetryable, se.Retryable)
			assert.Equal(t, tt.wantRetryable, errors.Is(err, ErrUnavailable))
			assert.Equal(t, "body of "+strconv.Itoa(tt.code), se.Excerpt)
			assert.Nil(t, resp.Body)
		})
	}
}

func TestClient_Do_Unavailable(t *testing.T) {
	gone := newServer(t, nil)
	gone.Close()
	c := newClient(t, []string{"*.example.com"}, Config{}, map[string]*server{"gone.example.com": gone})
	tests := []struct {
		name, url string
	}{
		{name: "connection refused", url: "http://gone.example.com/"},
		{name: "dial fails", url: "http://unrouted.example.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Do(context.Background(), abi.HTTPRequest{URL: tt.url})
			require.ErrorIs(t, err, ErrUnavailable)
			s, e := StatusOf(err)
			assert.Equal(t, abi.StatusUnavailable, s)
			assert.True(t, e.Retryable)
		})
	}
}

func TestClient_Do_ErrorsHideQuery(t *testing.T) {
	p := newPair(t, Config{}, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	for _, u := range []string{"http://api.example.com/x?token=hunter2", "http://evil.example.org/x?token=hunter2", "http://me:hunter2@api.example.com/x"} {
		_, err := p.c.Do(context.Background(), abi.HTTPRequest{URL: u})
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "hunter2")
	}
}
