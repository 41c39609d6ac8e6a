//go:build !wasip1

package sdk

import (
	"log/slog"
	"os"
)

// hostLog is the native stand-in for the host's log function, so code that logs runs
// under plain go test: it writes "LEVEL message" lines to os.Stderr.
func hostLog(level slog.Level, msg []byte) {
	line := make([]byte, 0, len(msg)+16)
	line = append(line, level.String()...)
	line = append(line, ' ')
	line = append(line, msg...)
	line = append(line, '\n')
	_, _ = os.Stderr.Write(line) // nowhere to report a failed stderr write
}
