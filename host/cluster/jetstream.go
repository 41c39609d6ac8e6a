package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// keyValue creates or updates the bucket cfg names and returns it. JetStream may not be
// ready yet (a cluster still electing its meta leader): it retries until ctx ends.
func keyValue(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	var last error
	for {
		// Each try gets a few seconds: a request to a JetStream still electing its
		// leader may go unanswered.
		tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		kv, err := js.CreateOrUpdateKeyValue(tctx, cfg)
		cancel()
		if err == nil {
			return kv, nil
		}
		last = err
		if errors.Is(err, jetstream.ErrLimitMarkerTTLNotSupported) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("cluster: key-value bucket %s: %w (last error: %v)", cfg.Bucket, ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("cluster: key-value bucket %s: %w", cfg.Bucket, last)
}
