package sdk

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
)

type logLine struct {
	level slog.Level
	text  string
}

func TestLogHandler(t *testing.T) {
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want logLine
	}{
		{
			name: "message only",
			log:  func(l *slog.Logger) { l.Info("hello") },
			want: logLine{slog.LevelInfo, "hello"},
		},
		{
			name: "attrs and quoting",
			log: func(l *slog.Logger) {
				l.Warn("hello from chatty", "user", "ada", "n", 3, "note", "two words", "eq", "a=b", "empty", "")
			},
			want: logLine{slog.LevelWarn, `hello from chatty user=ada n=3 note="two words" eq="a=b" empty=""`},
		},
		{
			name: "level preserved",
			log:  func(l *slog.Logger) { l.Log(context.Background(), slog.Level(2), "between", "err", errors.New("x")) },
			want: logLine{slog.Level(2), "between err=x"},
		},
		{
			name: "with attrs and groups",
			log: func(l *slog.Logger) {
				l.With("req", 7).WithGroup("db").With("table", "t").Error("failed", slog.Group("q", "rows", 2), "ms", 1.5)
			},
			want: logLine{slog.LevelError, "failed req=7 db.table=t db.q.rows=2 db.ms=1.5"},
		},
		{
			name: "empty group and inline group",
			log: func(l *slog.Logger) {
				l.WithGroup("").Debug("d", slog.Group("", "a", 1), slog.Group("none"))
			},
			want: logLine{slog.LevelDebug, "d a=1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []logLine
			h := newLogHandler(func(level slog.Level, line []byte) {
				got = append(got, logLine{level, string(line)})
			})
			tt.log(slog.New(h))
			assert.Equal(t, []logLine{tt.want}, got)
		})
	}
}

func TestLogger_Shared(t *testing.T) {
	assert.Same(t, Logger(), Logger())
	assert.True(t, Logger().Enabled(t.Context(), slog.LevelDebug), "filtering is the host's")
}
