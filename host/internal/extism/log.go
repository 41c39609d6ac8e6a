package extism

import (
	"context"
	"log/slog"
	"sync"

	sdk "github.com/extism/go-sdk"
)

// logLevel is the level this package last gave Extism (0: none yet).
var logLevel struct {
	sync.Mutex
	level sdk.LogLevel
}

// SetLogLevel opens Extism's process-wide log level (off by default) far enough for
// logger: info, or debug when logger has debug enabled. It only ever lowers the level, so
// every host in the process gets what its logger asks for; the plugins' slog loggers then
// filter by level. Trace stays off, and so does debug unless asked for: at those levels
// Extism also logs its own set-up of every instance through the standard log package,
// before a logger can be attached, and formats a message on every call. Safe for
// concurrent use.
func SetLogLevel(logger *slog.Logger) {
	want := sdk.LogLevelInfo
	if logger.Enabled(context.Background(), slog.LevelDebug) {
		want = sdk.LogLevelDebug
	}
	logLevel.Lock()
	defer logLevel.Unlock()
	if cur := logLevel.level; cur == 0 || want < cur {
		logLevel.level = want
		sdk.SetLogLevel(want)
	}
}

// slogLevel maps Extism's log levels onto slog's (trace is below debug).
func slogLevel(l sdk.LogLevel) slog.Level {
	switch l {
	case sdk.LogLevelTrace:
		return slog.LevelDebug - 4
	case sdk.LogLevelDebug:
		return slog.LevelDebug
	case sdk.LogLevelInfo:
		return slog.LevelInfo
	case sdk.LogLevelWarn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}
