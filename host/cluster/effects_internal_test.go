package cluster

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/server"
)

// flakyKV fails its first fails creates as a stream without a leader does.
type flakyKV struct {
	jetstream.KeyValue
	fails atomic.Int32
}

func (f *flakyKV) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	if f.fails.Add(-1) >= 0 {
		return 0, errors.New("nats: no response from stream")
	}
	return f.KeyValue.Create(ctx, key, value, opts...)
}

// TestEffectRecords_WaitsForTheBucketWithinTheDeadline: while the bucket does not answer
// (a stream-leader election), a request waits for it within its deadline and its Wait
// instead of answering 503 at once.
func TestEffectRecords_WaitsForTheBucketWithinTheDeadline(t *testing.T) {
	t.Parallel()
	e, err := StartEmbedded(EmbeddedConfig{StoreDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer e.Shutdown()
	nc, err := e.Connect("a")
	require.NoError(t, err)
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tests := []struct {
		name     string
		fails    int32
		deadline time.Duration
		ran      bool
	}{
		{name: "the bucket comes back", fails: 5, deadline: 30 * time.Second, ran: true},
		{name: "the deadline ends first", fails: 1 << 20, deadline: 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewEffectRecords(ctx, nc, EffectRecordsConfig{HostID: "a", Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			defer r.Close()
			kv := &flakyKV{KeyValue: r.kv}
			kv.fails.Store(tt.fails)
			r.kv = kv
			rctx, rcancel := context.WithTimeout(ctx, tt.deadline)
			defer rcancel()
			ran := false
			resp, _ := r.Run(rctx, "n", []byte(`{"operation_id":"`+tt.name+`"}`), func(context.Context) server.Response {
				ran = true
				return server.Response{Status: http.StatusOK}
			})
			assert.Equal(t, tt.ran, ran)
			if tt.ran {
				assert.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
				assert.Less(t, kv.fails.Load(), int32(0), "every failure was waited out")
			} else {
				assert.Equal(t, http.StatusServiceUnavailable, resp.Status)
			}
		})
	}
}
