package sdk

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"unicode"
	"unicode/utf8"
)

// shared is the logger Logger returns, built on first use rather than at package
// initialisation so that plugins that never log do not link log/slog (about 0.3 MB of
// Wasm). The handler is immutable, so sharing the logger is safe.
var shared struct {
	once   sync.Once
	logger *slog.Logger
}

// Logger returns a logger whose records go to the host's log through the onex.log import,
// tagged there with the plugin's name. Each record becomes one line: the message, then
// its attributes as key=value pairs separated by spaces (values quoted when they contain
// spaces, quotes, '=' or control characters; groups flatten to dotted keys). The level is
// passed through unchanged; the host rounds it to debug, info, warn or error. Every level
// is enabled: filtering is the host's business. Record times are dropped (the host stamps
// its own).
//
// Each record costs one host call, so avoid logging on hot paths. Natively (not wasip1),
// for unit tests, the lines go to os.Stderr instead. The logger is safe for concurrent
// use; Logger returns the same one every time.
func Logger() *slog.Logger {
	shared.once.Do(func() { shared.logger = slog.New(newLogHandler(hostLog)) })
	return shared.logger
}

// logHandler renders records as "message key=value ..." and hands each line to emit.
// It is immutable: WithAttrs and WithGroup return new handlers.
type logHandler struct {
	emit   func(level slog.Level, line []byte)
	prefix string // the open groups, each followed by '.'
	attrs  []byte // attributes from WithAttrs, already rendered, each with a leading space
}

func newLogHandler(emit func(slog.Level, []byte)) *logHandler {
	return &logHandler{emit: emit}
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	line := make([]byte, 0, len(r.Message)+len(h.attrs)+16*r.NumAttrs())
	line = append(line, r.Message...)
	line = append(line, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		line = appendAttr(line, h.prefix, a)
		return true
	})
	h.emit(r.Level, line)
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	n := *h
	n.attrs = append([]byte(nil), h.attrs...)
	for _, a := range as {
		n.attrs = appendAttr(n.attrs, h.prefix, a)
	}
	return &n
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := *h
	n.prefix = h.prefix + name + "."
	return &n
}

// appendAttr renders " prefix+key=value", flattening groups, following slog's rules: an
// empty attribute is dropped, a group with an empty key is inlined.
func appendAttr(dst []byte, prefix string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return dst
	}
	if a.Value.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			dst = appendAttr(dst, prefix, ga)
		}
		return dst
	}
	dst = append(dst, ' ')
	dst = appendText(dst, prefix+a.Key)
	dst = append(dst, '=')
	return appendText(dst, a.Value.String())
}

// appendText appends s, quoted when it is empty or would be ambiguous unquoted.
func appendText(dst []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(dst, s)
	}
	return append(dst, s...)
}

func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r == utf8.RuneError || r == '"' || r == '=' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}
