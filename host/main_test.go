package host_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
)

// cacheDir is one compilation cache shared by every test in this binary, so each guest
// is compiled once per test run.
var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "onex-host-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cacheDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// newHost returns a Host with test defaults (shared cache, recorded logs) and closes it
// when the test ends.
func newHost(tb testing.TB, cfg host.Config) (*host.Host, *recorder) {
	tb.Helper()
	rec := &recorder{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(rec)
	}
	cfg.CacheDir = cacheDir
	h, err := host.New(context.Background(), cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(tb, h.Close(ctx))
	})
	return h, rec
}

// recorder is a slog.Handler that keeps every record, for assertions.
type recorder struct {
	mu      sync.Mutex // guards records
	records []record
	attrs   []slog.Attr
	shared  *recorder
}

type record struct {
	Level   slog.Level
	Message string
	Attrs   map[string]string
}

func (r *recorder) root() *recorder {
	if r.shared != nil {
		return r.shared
	}
	return r
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	attrs := map[string]string{}
	for _, a := range r.attrs {
		attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
	root := r.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	root.records = append(root.records, record{Level: rec.Level, Message: rec.Message, Attrs: attrs})
	return nil
}

func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &recorder{attrs: append(append([]slog.Attr(nil), r.attrs...), as...), shared: r.root()}
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

// find returns the records whose message equals msg.
func (r *recorder) find(msg string) []record {
	root := r.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	var out []record
	for _, rec := range root.records {
		if rec.Message == msg {
			out = append(out, rec)
		}
	}
	return out
}
