package guest

import (
	"bytes"
	"context"
	"log/slog"
)

// maxLine is the longest line a LineWriter buffers before logging it anyway.
const maxLine = 4 << 10

// tailSize is how much of a stream LineWriter remembers for error messages.
const tailSize = 2 << 10

// LineWriter is the io.Writer behind a guest's stdout or stderr. Every complete line
// becomes one log record tagged with the plugin and the stream; the last tailSize bytes
// are kept so a trap can quote what the guest runtime printed before dying ("panic: …",
// "fatal error: out of memory"). Not safe for concurrent use: wazero writes to it from the
// goroutine running the instance, which owns it.
type LineWriter struct {
	plugin logged          // its logger is read at each line: the first instance exists before the manifest names the plugin
	ctx    context.Context // the running call's, for its trace and span ids; nil between calls
	stream string
	level  slog.Level
	line   []byte
	tail   []byte
	// dump holds the lines of a guest runtime's fatal dump (see dumpStarts), at most
	// maxDump bytes of them, and dumpLines counts them all: a dying runtime prints one
	// line per stack frame, logged as one record when the stream ends (Flush).
	dump      []byte
	dumpLines int
}

// maxDump bounds the text of a fatal dump kept for its log record.
const maxDump = 16 << 10

// dumpStarts are the first words of a line that starts a guest runtime's fatal dump:
// what Go prints before its goroutine traces ("runtime: out of memory: …", "fatal
// error: …", "panic: …"), after which the runtime exits.
var dumpStarts = [...]string{"runtime: out of memory", "fatal error:", "panic:"}

// logged is the part of Plugin a LineWriter needs.
type logged interface{ Logger() *slog.Logger }

// NewLineWriter returns the writer of one stream ("stdout", "stderr") of an instance of p,
// logging its lines at level.
func NewLineWriter(p logged, stream string, level slog.Level) *LineWriter {
	return &LineWriter{plugin: p, stream: stream, level: level}
}

// SetContext makes the lines written from now on records of the call whose context ctx
// is, so that they carry its trace and span ids (the tracing log handler reads them from
// the record's context). The instance sets it when a call starts and clears it (nil)
// when the call returns.
func (w *LineWriter) SetContext(ctx context.Context) { w.ctx = ctx }

func (w *LineWriter) logContext() context.Context {
	if w.ctx == nil {
		return context.Background()
	}
	return w.ctx
}

// Write logs each complete line of p; it never fails.
func (w *LineWriter) Write(p []byte) (int, error) {
	w.remember(p)
	rest := p
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			w.line = append(w.line, rest...)
			if len(w.line) >= maxLine {
				w.emit()
			}
			break
		}
		w.line = append(w.line, rest[:i]...)
		w.emit()
		rest = rest[i+1:]
	}
	return len(p), nil
}

// emit logs the buffered line, or adds it to the fatal dump it starts or continues.
func (w *LineWriter) emit() {
	if len(w.line) == 0 && w.dumpLines == 0 {
		return
	}
	if w.dumpLines == 0 {
		for _, start := range dumpStarts {
			if bytes.HasPrefix(w.line, []byte(start)) {
				w.dumpLines = -1 // starting
				break
			}
		}
	}
	if w.dumpLines != 0 {
		if w.dumpLines < 0 {
			w.dumpLines = 0
		}
		w.dumpLines++
		if len(w.dump)+len(w.line)+1 <= maxDump {
			w.dump = append(append(w.dump, w.line...), '\n')
		}
		w.line = w.line[:0]
		return
	}
	w.plugin.Logger().Log(w.logContext(), w.level, string(bytes.ToValidUTF8(w.line, []byte("\uFFFD"))), "stream", w.stream)
	w.line = w.line[:0]
}

// Flush logs the buffered partial line, if any, and the fatal dump as one record: its
// first line is the message, the whole text (up to maxDump bytes) the dump attribute.
func (w *LineWriter) Flush() {
	if len(w.line) > 0 {
		w.emit()
	}
	if w.dumpLines == 0 {
		return
	}
	first, _, _ := bytes.Cut(w.dump, []byte("\n"))
	w.plugin.Logger().Log(w.logContext(), w.level, string(bytes.ToValidUTF8(first, []byte("\uFFFD"))), "stream", w.stream,
		"dump_lines", w.dumpLines, "dump", string(bytes.ToValidUTF8(w.dump, []byte("\uFFFD"))))
	w.dump, w.dumpLines = nil, 0
}

func (w *LineWriter) remember(p []byte) {
	if len(p) >= tailSize {
		w.tail = append(w.tail[:0], p[len(p)-tailSize:]...)
		return
	}
	if drop := len(w.tail) + len(p) - tailSize; drop > 0 {
		w.tail = append(w.tail[:0], w.tail[drop:]...)
	}
	w.tail = append(w.tail, p...)
}

// Mentions reports whether the remembered tail contains any of the phrases.
func (w *LineWriter) Mentions(phrases ...string) bool {
	for _, s := range phrases {
		if bytes.Contains(w.tail, []byte(s)) || bytes.Contains(w.dump, []byte(s)) {
			return true
		}
	}
	return false
}

// LastFatal returns ": " plus the last line of the tail that reads like a guest runtime's
// dying words, or "" when there is none.
func (w *LineWriter) LastFatal() string {
	// A long fatal dump (a stack trace) pushes its first lines out of the tail: then
	// they come from the dump.
	for _, b := range [][]byte{w.tail, w.dump} {
		lines := bytes.Split(b, []byte("\n"))
		for i := len(lines) - 1; i >= 0; i-- {
			l := bytes.TrimSpace(lines[i])
			for _, prefix := range [...]string{"panic:", "fatal error:", "runtime:", "thread '", "memory allocation of"} {
				if bytes.HasPrefix(l, []byte(prefix)) {
					return ": " + string(bytes.ToValidUTF8(l, []byte("\uFFFD")))
				}
			}
		}
	}
	return ""
}
