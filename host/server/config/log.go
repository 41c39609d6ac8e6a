package config

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/onexhost/onex-host/host/tracing"
)

// Logger returns a logger writing to w at Level, as text or JSON by Format. The error is
// a wrapped *FieldError for a level or format Parse would have refused.
func (l Log) Logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	switch l.Level {
	case "debug", "info", "warn", "error":
		_ = level.UnmarshalText([]byte(l.Level)) // cannot fail for these four
	default:
		return nil, fmt.Errorf("config: %w", fieldErr("log.level", "%q is not debug, info, warn or error", l.Level))
	}
	opts := &slog.HandlerOptions{Level: level}
	// Every record made with a request's context carries its trace_id and span_id.
	switch l.Format {
	case "text":
		return slog.New(tracing.Handler(slog.NewTextHandler(w, opts))), nil
	case "json":
		return slog.New(tracing.Handler(slog.NewJSONHandler(w, opts))), nil
	}
	return nil, fmt.Errorf("config: %w", fieldErr("log.format", "%q is not text or json", l.Format))
}
