package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/host/tracing"
)

// ClientConfig configures a Client. The zero value takes every default.
type ClientConfig struct {
	// AttemptTimeout bounds one attempt (the wait for one host's reply); the caller's
	// context bounds them all. Default 30 s.
	AttemptTimeout time.Duration
	// Attempts caps how many times a request is sent. 0 (the default) means no cap: a
	// request is sent again until it gets a final answer or the caller's context ends;
	// a context without a deadline is capped at DefaultAttempts.
	Attempts int
	// Backoff is the wait before the second attempt, doubling up to 2 s; default 50 ms.
	Backoff time.Duration
}

// Client sends requests to the nodes of a cluster. It retries, with the same operation
// id, when no host answered in time, when no host serves the node yet, and when the host
// that answered was unavailable (503: shutting down, the effect records unavailable
// during a JetStream leader election, the effect still running elsewhere, or in doubt
// until its record is settled), until the
// caller's deadline: hosts deduplicate effects by operation id, so a retry never commits
// an effect twice. It is safe for concurrent use, and implements server.Router.
type Client struct {
	nc  *nats.Conn
	cfg ClientConfig
}

// NewClient returns a Client sending on nc.
func NewClient(nc *nats.Conn, cfg ClientConfig) *Client {
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = 30 * time.Second
	}
	cfg.Attempts = max(cfg.Attempts, 0)
	if cfg.Backoff <= 0 {
		cfg.Backoff = 50 * time.Millisecond
	}
	return &Client{nc: nc, cfg: cfg}
}

// DefaultAttempts caps the attempts of a request whose context has no deadline.
const DefaultAttempts = 5

// ErrNoResponders means no host of the cluster serves the node (after every attempt).
var ErrNoResponders = errors.New("cluster: no host serves the node")

// RemoteError is an operation that failed on the host that ran it: the HTTP status and
// the error object of the HTTP API.
type RemoteError struct {
	Status      int
	Code        string
	Message     string
	Retryable   bool
	OperationID string
	// Host is the host that answered.
	Host string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("cluster: %s (%d, on host %s): %s", e.Code, e.Status, e.Host, e.Message)
}

// Compute runs in on node somewhere in the cluster. in.OperationID is set when empty, so
// that every attempt carries the same one.
func (c *Client) Compute(ctx context.Context, node string, in abi.ComputeInput) (abi.ComputeOutput, error) {
	if in.OperationID == "" {
		in.OperationID = uuid.NewString()
	}
	body, err := json.Marshal(in)
	if err != nil {
		return abi.ComputeOutput{}, err
	}
	var out abi.ComputeOutput
	err = c.call(ctx, node, server.OperationCompute, body, &out)
	if out.OperationID == "" {
		out.OperationID = in.OperationID
	}
	return out, err
}

// Effect runs in on node somewhere in the cluster, at most once per operation id:
// in.OperationID is set when empty, and a repeat of a committed operation id is answered
// with the first run's output. On failure the output says how far the effect got, as
// effect.Node.Process does.
func (c *Client) Effect(ctx context.Context, node string, in abi.EffectInput) (abi.EffectOutput, error) {
	if in.OperationID == "" {
		in.OperationID = uuid.NewString()
	}
	body, err := json.Marshal(in)
	if err != nil {
		return abi.EffectOutput{}, err
	}
	var out abi.EffectOutput
	err = c.call(ctx, node, server.OperationEffect, body, &out)
	if out.OperationID == "" {
		out.OperationID = in.OperationID
	}
	return out, err
}

// call sends one operation and decodes its reply into out.
func (c *Client) call(ctx context.Context, node, operation string, body []byte, out any) error {
	resp, host, err := c.request(ctx, node, operation, body)
	if err != nil {
		return err
	}
	if resp.Status == http.StatusOK {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return fmt.Errorf("cluster: decoding the reply of host %s: %w", host, err)
		}
		return nil
	}
	_ = json.Unmarshal(resp.Body, out) // an effect's failure still carries its output
	return remoteError(resp, host)
}

// Route implements server.Router: the reply of whichever host serves node. An effect body
// without an operation id gets one, so that retries are deduplicated.
func (c *Client) Route(ctx context.Context, node, operation string, body []byte) (server.Response, error) {
	if operation == server.OperationEffect {
		if in, err := abi.DecodeEffectInput(body); err == nil && in.OperationID == "" {
			in.OperationID = uuid.NewString()
			if b, err := json.Marshal(in); err == nil {
				body = b
			}
		}
	}
	resp, _, err := c.request(ctx, node, operation, body)
	return resp, err
}

// request sends body until a host gives a final answer, the attempts run out or ctx ends.
func (c *Client) request(ctx context.Context, node, operation string, body []byte) (server.Response, string, error) {
	subject := Subject(node, operation)
	wait := c.cfg.Backoff
	attempts := c.cfg.Attempts
	if _, ok := ctx.Deadline(); !ok && attempts == 0 {
		attempts = DefaultAttempts
	}
	var (
		last error
		// unavailable is the last 503, the answer when time runs out before another.
		unavailable     server.Response
		unavailableHost string
	)
	for attempt := 1; ; attempt++ {
		resp, host, err := c.once(ctx, subject, body)
		switch {
		case err == nil && resp.Status != http.StatusServiceUnavailable:
			return resp, host, nil
		case err == nil:
			last = remoteError(resp, host)
			unavailable, unavailableHost = resp, host
		case ctx.Err() != nil && unavailable.Status != 0:
			return unavailable, unavailableHost, nil
		case errors.Is(err, nats.ErrNoResponders):
			last = fmt.Errorf("%w %q (operation %s)", ErrNoResponders, node, operation)
		case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			last = fmt.Errorf("cluster: no reply from node %q within %v", node, c.cfg.AttemptTimeout)
		default:
			return server.Response{}, "", fmt.Errorf("cluster: request to %s: %w", subject, err)
		}
		if attempts > 0 && attempt >= attempts {
			if err == nil {
				return resp, host, nil // the last 503 is the answer
			}
			return server.Response{}, "", last
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < wait && err == nil {
			return resp, host, nil // no time for another attempt: the last 503 is the answer
		}
		select {
		case <-ctx.Done():
			if err == nil {
				return resp, host, nil
			}
			return server.Response{}, "", fmt.Errorf("cluster: %w (after %d attempts; last: %v)", ctx.Err(), attempt, last)
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// once sends one attempt.
func (c *Client) once(ctx context.Context, subject string, body []byte) (server.Response, string, error) {
	ctx, sp := tracing.Start(ctx, "onex.cluster.request", trace.SpanKindClient)
	defer sp.End()
	if sp.IsRecording() {
		sp.SetAttributes(attribute.String("messaging.destination.name", subject))
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
	defer cancel()
	msg := nats.NewMsg(subject)
	msg.Data = body
	// The serving host's spans and logs join the caller's trace.
	tracing.Inject(ctx, http.Header(msg.Header))
	if deadline, ok := actx.Deadline(); ok {
		left := time.Until(deadline)
		msg.Header.Set(HeaderTimeout, strconv.FormatInt(max((left-replyMargin(left)).Milliseconds(), 1), 10))
	}
	reply, err := c.nc.RequestMsgWithContext(actx, msg)
	if err != nil {
		return server.Response{}, "", err
	}
	status, err := strconv.Atoi(reply.Header.Get(HeaderStatus))
	if err != nil {
		return server.Response{}, "", fmt.Errorf("cluster: a reply on %s without a status: %q", subject, reply.Data)
	}
	return server.Response{Status: status, Body: reply.Data}, reply.Header.Get(HeaderHost), nil
}

// replyMargin is how much sooner than the client stops waiting the serving host is told
// to give up (HeaderTimeout): a fifth of the time left, at most 1 s. A host answers when
// its deadline passes (504, or 503 for an effect still running elsewhere); the margin is
// the time that answer has to reach the client, so that the caller gets it rather than
// "no reply" on a busy machine or network.
func replyMargin(left time.Duration) time.Duration {
	return min(left/5, time.Second)
}

// remoteError decodes the error object of a failed reply.
func remoteError(resp server.Response, host string) error {
	var body struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			Retryable bool   `json:"retryable"`
		} `json:"error"`
		OperationID string `json:"operation_id"`
	}
	_ = json.Unmarshal(resp.Body, &body)
	e := &RemoteError{Status: resp.Status, Code: body.Error.Code, Message: body.Error.Message,
		Retryable: body.Error.Retryable, OperationID: body.OperationID, Host: host}
	if e.Code == "" {
		e.Code, e.Message = "unknown", string(resp.Body)
	}
	return e
}
