// Package hosttest holds the test helpers of the node-kind packages (host/compute,
// host/effect, …): building their guest plugins once per run, hosts with test defaults
// that close when the test ends, and a log recorder. Test code only.
package hosttest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// paths maps each plugin source directory Main built to its .wasm file. Main writes it
// before any test runs; tests only read it.
var paths = map[string]string{}

// Main builds (or finds in the build cache) the standard-Go guests in dirs, compiles them
// warm into the shared compilation cache (see package plugintest), then runs the tests
// and exits. Call it from TestMain.
func Main(m *testing.M, dirs ...string) {
	var all []string
	for _, dir := range dirs {
		path, err := plugintest.Path(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		paths[dir] = path
		all = append(all, path)
	}
	if err := plugintest.Warm(all...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// LoadGo loads the standard-Go guest in dir into h: one Main built, or else one
// package plugintest builds (or finds built) now.
func LoadGo(tb testing.TB, h *host.Host, dir string, cfg host.PluginConfig) *host.Plugin {
	tb.Helper()
	path, ok := paths[dir]
	if !ok {
		var err error
		path, err = plugintest.Path(dir)
		require.NoError(tb, err)
	}
	p, err := h.LoadFile(context.Background(), path, cfg)
	require.NoError(tb, err)
	return p
}

// NewHost returns a Host with test defaults (the shared compilation cache, recorded
// logs unless cfg has a Logger) and closes it when the test ends.
func NewHost(tb testing.TB, cfg host.Config) (*host.Host, *Recorder) {
	tb.Helper()
	rec := &Recorder{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(rec)
	}
	cfg.CacheDir = plugintest.CacheDir()
	h, err := host.New(context.Background(), cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(tb, h.Close(ctx))
	})
	return h, rec
}

// Recorder is a slog.Handler that keeps every record, for assertions. It is safe for
// concurrent use by multiple goroutines.
type Recorder struct {
	mu      sync.Mutex // guards records
	records []Record
	attrs   []slog.Attr
	shared  *Recorder
}

// Record is one log record, its attributes as strings.
type Record struct {
	Level   slog.Level
	Message string
	Attrs   map[string]string
}

func (r *Recorder) root() *Recorder {
	if r.shared != nil {
		return r.shared
	}
	return r
}

// Enabled reports true: every level is kept.
func (r *Recorder) Enabled(context.Context, slog.Level) bool { return true }

// Handle keeps rec.
func (r *Recorder) Handle(_ context.Context, rec slog.Record) error {
	attrs := map[string]string{}
	for _, a := range r.attrs {
		attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
	root := r.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	root.records = append(root.records, Record{Level: rec.Level, Message: rec.Message, Attrs: attrs})
	return nil
}

// WithAttrs returns a handler adding as to every record, kept in r.
func (r *Recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &Recorder{attrs: append(append([]slog.Attr(nil), r.attrs...), as...), shared: r.root()}
}

// WithGroup returns r: groups are flattened.
func (r *Recorder) WithGroup(string) slog.Handler { return r }

// Find returns the records whose message equals msg.
func (r *Recorder) Find(msg string) []Record {
	return r.match(func(m string) bool { return m == msg })
}

// FindPrefix returns the records whose message starts with prefix.
func (r *Recorder) FindPrefix(prefix string) []Record {
	return r.match(func(m string) bool { return strings.HasPrefix(m, prefix) })
}

func (r *Recorder) match(ok func(msg string) bool) []Record {
	root := r.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	var out []Record
	for _, rec := range root.records {
		if ok(rec.Message) {
			out = append(out, rec)
		}
	}
	return out
}
