package guest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// messages is a slog.Handler keeping each record's message and attributes.
type messages struct {
	mu   sync.Mutex
	recs []map[string]string
}

func (m *messages) Enabled(context.Context, slog.Level) bool { return true }
func (m *messages) Handle(_ context.Context, r slog.Record) error {
	rec := map[string]string{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool { rec[a.Key] = a.Value.String(); return true })
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, rec)
	return nil
}
func (m *messages) WithAttrs([]slog.Attr) slog.Handler { return m }
func (m *messages) WithGroup(string) slog.Handler      { return m }

// loggerOf is a plugin with a logger only.
type loggerOf struct{ l *slog.Logger }

func (p loggerOf) Logger() *slog.Logger { return p.l }

// TestLineWriter_FatalDump: a guest runtime's fatal dump (Go's out-of-memory report and
// its goroutine trace, one line per frame) is one log record, and the error still quotes
// its dying words though the trace pushed them out of the tail.
func TestLineWriter_FatalDump(t *testing.T) {
	var trace strings.Builder
	trace.WriteString("runtime: out of memory: cannot allocate 16777216-byte block (51118080 in use)\nfatal error: out of memory\n\ngoroutine 1 [running]:\n")
	for i := range 100 {
		fmt.Fprintf(&trace, "main.f%d()\n\t/src/main.go:%d +0x3 fp=0x433500 sp=0x4334d8 pc=0x15650003\n", i, i)
	}
	tests := []struct {
		name    string
		writes  []string
		records []string // messages, in order
		lines   string   // dump_lines of the dump's record
		fatal   string
	}{
		{name: "ordinary lines", writes: []string{"a\nb\n", "c"}, records: []string{"a", "b", "c"}},
		{name: "Go out of memory", writes: []string{"before\n", trace.String()},
			records: []string{"before", "runtime: out of memory: cannot allocate 16777216-byte block (51118080 in use)"},
			lines:   "204", fatal: ": fatal error: out of memory"},
		{name: "panic written in pieces", writes: []string{"pan", "ic: boom\n\ngoroutine 1 [running]:\nmain.main()\n"},
			records: []string{"panic: boom"}, lines: "4", fatal: ": panic: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &messages{}
			w := NewLineWriter(loggerOf{slog.New(h)}, "stderr", slog.LevelWarn)
			for _, s := range tt.writes {
				_, err := w.Write([]byte(s))
				require.NoError(t, err)
			}
			if tt.fatal != "" {
				assert.Equal(t, tt.fatal, w.LastFatal())
				assert.True(t, w.Mentions("out of memory", "panic:"))
			}
			w.Flush()
			var got []string
			for _, r := range h.recs {
				got = append(got, r["msg"])
			}
			assert.Equal(t, tt.records, got)
			if tt.lines != "" {
				last := h.recs[len(h.recs)-1]
				assert.Equal(t, tt.lines, last["dump_lines"])
				assert.Contains(t, last["dump"], "goroutine 1 [running]:")
			}
		})
	}
}
