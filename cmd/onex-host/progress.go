package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/onexhost/onex-host/host"
)

// progressInterval is how often the progress line is redrawn.
const progressInterval = 100 * time.Millisecond

// startProgress redraws a progress line on w, with \r, every progressInterval until the
// returned stop is called; stop erases the line and returns once nothing more is drawn.
// When w is not a terminal it draws nothing: piped stderr, log files and tests never
// see the line. done reports the items finished so far; total is the item count.
func startProgress(w io.Writer, total int, done func() int) (stop func()) {
	if !isTerminal(w) {
		return func() {}
	}
	quit, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		start := time.Now()
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		width := 0 // of the last line drawn, to blank it out
		for {
			select {
			case <-quit:
				fmt.Fprintf(w, "\r%s\r", strings.Repeat(" ", width))
				return
			case now := <-t.C:
				line := progressLine(min(done(), total), total, now.Sub(start))
				fmt.Fprintf(w, "\r%-*s", width, line)
				width = len(line)
			}
		}
	}()
	return func() {
		close(quit)
		<-exited
	}
}

// isTerminal reports whether v (a reader or a writer) is a character device, such as a
// terminal.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressLine is the progress line for done of total items after elapsed.
func progressLine(done, total int, elapsed time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d items", done, total)
	if total > 0 {
		fmt.Fprintf(&b, " (%.0f%%)", 100*float64(done)/float64(total))
	}
	if done == 0 || elapsed <= 0 {
		return b.String()
	}
	rate := float64(done) / elapsed.Seconds()
	fmt.Fprintf(&b, ", %.0f items/s", rate)
	if left := total - done; left > 0 {
		eta := time.Duration(float64(left) / rate * float64(time.Second))
		fmt.Fprintf(&b, ", ETA %v", eta.Round(time.Second))
	}
	return b.String()
}

// batchSummary is the batch command's closing line on stderr.
type batchSummary struct {
	items, failed, hits int // output lines, error lines among them, results from the cache
	elapsed             time.Duration
	cache               host.CacheStats // the host's compute cache
}

// String is one line: "batch: items <n>, failed <n>, cache hits <n> (<rate>), host cache
// hits <hits>/<requests> (<rate>), wall <elapsed>, <rate> items/s". The first rate is
// over the items' cache_hit; the host's counts every lookup of the run.
func (s batchSummary) String() string {
	rate := 0.0
	if secs := s.elapsed.Seconds(); secs > 0 {
		rate = float64(s.items) / secs
	}
	return fmt.Sprintf("batch: items %d, failed %d, cache hits %d (%s), host cache hits %d/%d (%.1f%%), wall %v, %.0f items/s",
		s.items, s.failed, s.hits, percent(s.hits, s.items),
		s.cache.Hits, s.cache.TotalRequests, s.cache.HitRate,
		s.elapsed.Round(time.Millisecond), rate)
}

// percent is 100*n/of with one decimal, or "-" when of is 0.
func percent(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}
