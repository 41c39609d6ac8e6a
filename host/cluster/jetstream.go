package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// keyValue creates or updates the bucket cfg names on nc's JetStream and returns it. Zero
// Replicas means 1; LimitMarkerTTL is set so that keys can carry their own TTL.
func keyValue(ctx context.Context, nc *nats.Conn, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: JetStream: %w", err)
	}
	cfg.Replicas = max(cfg.Replicas, 1)
	cfg.LimitMarkerTTL = time.Minute
	return whenReady(ctx, "key-value bucket "+cfg.Bucket, func(ctx context.Context) (jetstream.KeyValue, error) {
		return js.CreateOrUpdateKeyValue(ctx, cfg)
	})
}

// keyValues opens the buckets of buckets (name, description pairs) with keyValue, in
// order, with replicas.
func keyValues(ctx context.Context, nc *nats.Conn, replicas int, buckets ...[2]string) ([]jetstream.KeyValue, error) {
	out := make([]jetstream.KeyValue, len(buckets))
	for i, b := range buckets {
		kv, err := keyValue(ctx, nc, jetstream.KeyValueConfig{Bucket: b[0], Description: b[1], Replicas: replicas})
		if err != nil {
			return nil, err
		}
		out[i] = kv
	}
	return out, nil
}

// whenReady runs create until it succeeds or ctx ends: JetStream may not be ready yet (a
// cluster still electing its meta leader). Each try gets a few seconds, since a request
// to a JetStream without a leader may go unanswered. A server too old for per-key TTLs is
// a permanent error.
func whenReady[T any](ctx context.Context, what string, create func(context.Context) (T, error)) (T, error) {
	for {
		tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		v, err := create(tctx)
		cancel()
		if err == nil {
			return v, nil
		}
		if errors.Is(err, jetstream.ErrLimitMarkerTTLNotSupported) {
			return v, fmt.Errorf("cluster: %s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("cluster: %s: %w (last error: %v)", what, ctx.Err(), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
