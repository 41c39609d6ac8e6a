package cluster_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/cluster"
)

// rounds lets a test cut the requests in flight at one moment, such as a host's crash:
// a request the dead host took gets no reply, and rather than wait for a timeout the
// test sends it again at once (with the same operation id, so an effect still runs at
// most once).
type rounds struct {
	parent context.Context
	mu     sync.Mutex
	ctx    context.Context // the current round, canceled by cut
	cancel context.CancelFunc
}

// newRounds starts the first round; every round ends with parent.
func newRounds(parent context.Context) *rounds {
	r := &rounds{parent: parent}
	r.ctx, r.cancel = context.WithCancel(parent)
	return r
}

// cut cancels the requests in flight and starts a new round.
func (r *rounds) cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cancel()
	r.ctx, r.cancel = context.WithCancel(r.parent)
}

// send calls f with the current round's context, and again in the next round when a cut
// ended it before f had an answer.
func (r *rounds) send(f func(context.Context) error) error {
	for {
		r.mu.Lock()
		ctx := r.ctx
		r.mu.Unlock()
		err := f(ctx)
		if err != nil && ctx.Err() != nil && r.parent.Err() == nil {
			continue
		}
		return err
	}
}

// isInDoubt reports whether re is the in-doubt answer of EffectRecords: a 503 given at
// once for an effect whose "committing" record its host stopped renewing. It is final
// until that host restarts and reconciles its journal.
func isInDoubt(re *cluster.RemoteError) bool {
	return re.Status == http.StatusServiceUnavailable && strings.Contains(re.Message, " is in doubt")
}

// effectAnswer sends in to the effects node through c, a client making one attempt per
// call, until the answer is final: committed, failed, or in doubt. Every other answer
// (no reply in time, no host serving the node, the effect still running or committing
// elsewhere, the records unavailable) is sent again with the same operation id, until
// ctx ends. It is what Client does by itself, except that an in-doubt answer ends it.
func effectAnswer(ctx context.Context, r *rounds, c *cluster.Client, in abi.EffectInput) (abi.EffectOutput, error) {
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		var out abi.EffectOutput
		err := r.send(func(ctx context.Context) (err error) {
			out, err = c.Effect(ctx, "effects", in)
			return err
		})
		var re *cluster.RemoteError
		if err == nil || errors.As(err, &re) && (re.Status != http.StatusServiceUnavailable || isInDoubt(re)) {
			return out, err
		}
		select {
		case <-ctx.Done():
			return out, err
		case <-time.After(pause):
		}
	}
}

// patientClient is a client for a test whose hosts stay up: an attempt waits for the
// reply as long as the test's patience allows, shared among the attempts (attempts 0:
// cluster.DefaultAttempts, a call without a deadline).
func patientClient(t testing.TB, nc *nats.Conn, attempts int) *cluster.Client {
	n := attempts
	if n <= 0 {
		n = cluster.DefaultAttempts
	}
	return cluster.NewClient(nc, cluster.ClientConfig{AttemptTimeout: patience(t) / time.Duration(n), Attempts: attempts})
}
