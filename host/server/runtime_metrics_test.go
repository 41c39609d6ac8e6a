package server_test

import (
	"context"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
)

// TestServer_RuntimeMetrics: /metrics carries the Go runtime's and the process's
// metrics, and they move with what they measure — files opened show in process_open_fds.
func TestServer_RuntimeMetrics(t *testing.T) {
	h, err := host.New(context.Background(), host.NewConfig().WithCacheDir("").WithDataDir(""))
	require.NoError(t, err)
	_, url := serve(t, h)

	goroutines := scrape(t, url, "go_goroutines")[""]
	assert.Positive(t, goroutines)
	assert.Contains(t, scrape(t, url, "go_gc_duration_seconds"), "", "GC collector registered") // a summary: present, value unchecked
	if runtime.GOOS != "linux" {
		t.Skip("process_* metrics are read from /proc")
	}
	max := scrape(t, url, "process_max_fds")[""]
	assert.Positive(t, max)

	const extra = 20
	before := scrape(t, url, "process_open_fds")[""]
	for range extra {
		f, err := os.Open(os.Args[0])
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
	}
	after := scrape(t, url, "process_open_fds")[""]
	// Other goroutines of this test binary may open or close a file or connection in
	// between, but not 20 of them: the difference is the test's own files, within a few.
	assert.InDelta(t, before+extra, after, 5, "open fds: before %v, after %v", before, after)
}
