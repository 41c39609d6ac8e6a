package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/reducer"
)

// Reduce submits ev for key of reducer node to the cluster (SubjectReduce): a host of
// the cluster routes it to the key's owner and answers once the new state is durable.
// It retries with the same event id while no host answers or a host answers
// "unavailable", until ctx ends (a context without a deadline: DefaultAttempts
// attempts, or Attempts); a retry of an event already applied is answered with
// Duplicate set, never applied twice. ctx may name the
// reduction (server.WithReduction); its trace context goes with the event (traceparent).
// Errors: as Reducers.Apply.
func (c *Client) Reduce(ctx context.Context, node, key string, ev abi.ReduceEvent) (reducer.Result, error) {
	body, err := json.Marshal(reduceRequest{Node: node, Key: key, Event: ev})
	if err != nil {
		return reducer.Result{}, err
	}
	attempts := c.cfg.Attempts
	if _, ok := ctx.Deadline(); !ok && attempts == 0 {
		attempts = DefaultAttempts
	}
	wait := c.cfg.Backoff
	var last error
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
		msg, err := c.nc.RequestMsgWithContext(actx, tracedMsg(ctx, SubjectReduce, body))
		cancel()
		if err == nil {
			res, rerr := decodeReply(msg.Data, node, key, ev.EventID)
			var rep ReduceReply
			_ = json.Unmarshal(msg.Data, &rep)
			if rerr == nil || rep.Error == nil || rep.Error.Code != "unavailable" {
				return res, rerr
			}
			last = rerr
		} else if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrTimeout) ||
			(errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil) {
			last = fmt.Errorf("cluster: reducer %s key %q: no answer: %w", node, key, err)
		} else {
			return reducer.Result{}, fmt.Errorf("cluster: reducer %s key %q: %w", node, key, err)
		}
		if attempts > 0 && attempt >= attempts {
			return reducer.Result{}, last
		}
		select {
		case <-ctx.Done():
			return reducer.Result{}, fmt.Errorf("cluster: %w (after %d attempts; last: %v)", ctx.Err(), attempt, last)
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}
