package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/server"
)

// natsCluster starts n embedded NATS servers routed into one cluster on loopback ports.
// JetStream clustering needs every member's routes configured up front: the ports are
// picked first.
func natsCluster(t *testing.T, n int) []*cluster.Embedded {
	t.Helper()
	var addrs, routes []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addrs = append(addrs, ln.Addr().String())
		routes = append(routes, "nats://"+ln.Addr().String())
		require.NoError(t, ln.Close())
	}
	servers := make([]*cluster.Embedded, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			e, err := cluster.StartEmbedded(cluster.EmbeddedConfig{StoreDir: t.TempDir(), ServerName: fmt.Sprintf("n%d", i+1),
				Logger: quiet, ClusterName: "onex-test", ClusterListen: addrs[i], Routes: routes, ReadyTimeout: patience(t)})
			if assert.NoError(t, err) {
				servers[i] = e
				t.Cleanup(e.Shutdown)
			}
		})
	}
	wg.Wait()
	require.NotContains(t, servers, (*cluster.Embedded)(nil))
	eventually(t, func() bool {
		for _, s := range servers {
			if s.Server().NumRoutes() < n-1 {
				return false
			}
		}
		return true
	}, "the servers route to each other")
	return servers
}

func TestCluster_ThreeServersThreeHosts(t *testing.T) {
	t.Parallel()
	servers := natsCluster(t, 3)
	members := make([]*member, 3)
	for i, s := range servers {
		id := fmt.Sprintf("host-%c", 'a'+i)
		members[i] = newMember(t, id, func() (*nats.Conn, error) { return s.Connect(id) }, memberOptions{shared: true, lease: 3 * time.Second})
	}
	a, b, c := members[0], members[1], members[2]
	ctx := context.Background()

	t.Run("event published on A reaches a subscriber on C exactly as sent", func(t *testing.T) {
		got := make(chan abi.Event, 1)
		sub, err := c.host.Events().Subscribe("onex.evt.test.>", func(_ context.Context, e abi.Event) error {
			got <- e
			return nil
		}, eventsOptions())
		require.NoError(t, err)
		defer sub.Close()
		sent := abi.Event{EnvelopeID: "env-1", CorrelationID: "corr-1", EventType: "test.stepped", Topic: "onex.evt.test.step.v1",
			Key: "k", Headers: map[string]string{"x": "y"}, Payload: json.RawMessage(`{"n":1}`),
			Timestamp: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
		// Subscriptions propagate through the routes: publish until C has it.
		require.Eventually(t, func() bool {
			require.NoError(t, a.host.Events().Publish(ctx, sent))
			select {
			case e := <-got:
				assert.Equal(t, sent, e)
				return true
			case <-time.After(100 * time.Millisecond): // not yet: publish again
				return false
			}
		}, patience(t), time.Millisecond)
	})

	t.Run("a result computed on A is a shared-cache hit on B", func(t *testing.T) {
		body := []byte(`{"computation_type":"stats","data":[3,1,4,1,5,9,2,6]}`)
		first := a.srv.Invoke(ctx, "core", server.OperationCompute, body)
		require.Equal(t, http.StatusOK, first.Status, string(first.Body))
		second := b.srv.Invoke(ctx, "core", server.OperationCompute, body)
		require.Equal(t, http.StatusOK, second.Status, string(second.Body))
		var o1, o2 abi.ComputeOutput
		require.NoError(t, json.Unmarshal(first.Body, &o1))
		require.NoError(t, json.Unmarshal(second.Body, &o2))
		assert.False(t, o1.CacheHit)
		assert.True(t, o2.CacheHit, "B never computed it")
		assert.JSONEq(t, string(o1.Result), string(o2.Result))
	})

	// 2,000 computations and 200 effects spread over the hosts; C dies a third of the way.
	nc, err := servers[0].Connect("load")
	require.NoError(t, err)
	defer nc.Close()
	// An attempt waits for a reply from a live host, however slow the machine is: its
	// timeout is a share of the test's patience, not a guess at the hosts' speed. The
	// requests C took are lost with it; they are cut when C is killed and sent again
	// (the same operation id), so nothing waits for a reply that cannot come. The
	// timeout is only the fallback for a request that reached C after the cut.
	loadCtx := patientContext(t)
	client := cluster.NewClient(nc, cluster.ClientConfig{AttemptTimeout: patience(t) / 4})
	single := cluster.NewClient(nc, cluster.ClientConfig{AttemptTimeout: patience(t) / 4, Attempts: 1})
	cut := newRounds(loadCtx)
	start := time.Now()
	const computes, effects, workers = 2_000, 200, 32
	var (
		next, done         atomic.Int64
		failures           atomic.Int64
		committed, inDoubt atomic.Int64 // the effects' answers
		killed             = make(chan struct{})
		servedByC          int
		wg                 sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= computes+effects {
					return
				}
				if i%((computes+effects)/effects) == 0 {
					id := fmt.Sprintf("effect-%d", i)
					out, err := effectAnswer(loadCtx, cut, single, abi.EffectInput{EffectType: "script", OperationID: id,
						OperationData: []byte(`{"steps":[{"op":"kv.put","key":"` + id + `","value":"v"}]}`)})
					var re *cluster.RemoteError
					switch {
					case err == nil && out.TransactionState == abi.TransactionCommitted:
						committed.Add(1)
					case errors.As(err, &re) && isInDoubt(re):
						// A final answer: C recorded the commit and died before finishing the
						// record; only C's journal knows (README, the effect records).
						assert.Contains(t, re.Message, "host "+c.id, "%s: only C died", id)
						inDoubt.Add(1)
					default:
						assert.Fail(t, "effect neither committed nor in doubt", "%s: %v (state %q)", id, err, out.TransactionState)
						failures.Add(1)
					}
				} else {
					data := []byte(fmt.Sprintf("[%d,%d]", i, 1))
					var out abi.ComputeOutput
					err := cut.send(func(ctx context.Context) (err error) {
						out, err = client.Compute(ctx, "core", abi.ComputeInput{ComputationType: "sum_numbers", NoCache: true, Data: data})
						return err
					})
					if !assert.NoError(t, err) || !assert.JSONEq(t, fmt.Sprint(i+1), string(out.Result)) {
						failures.Add(1)
					}
				}
				if done.Add(1) == (computes+effects)/3 {
					servedByC = requests(c.svc)
					t.Logf("killing C after %v", time.Since(start))
					cut.cut() // C's requests in flight are lost with it
					c.kill(t)
					cut.cut() // and those that reached it while it died
					t.Logf("C killed after %v", time.Since(start))
					close(killed)
				}
			}
		})
	}
	wg.Wait()
	<-killed
	t.Logf("every request answered after %v", time.Since(start))
	require.Zero(t, failures.Load(), "every request answered correctly")
	assert.Positive(t, requests(a.svc))
	assert.Positive(t, requests(b.svc))
	assert.Positive(t, servedByC)
	total := requests(a.svc) + requests(b.svc) + servedByC
	assert.GreaterOrEqual(t, total, computes+effects, "every request served (some twice: retried after the kill)")
	t.Logf("served: a=%d b=%d c=%d (c killed after %d)", requests(a.svc), requests(b.svc), servedByC, (computes+effects)/3)

	// Every effect got a final answer: committed, or in doubt (answered 503 at once,
	// naming C: its "committing" record outlived it, and only C's journal, reconciled
	// when C restarts, knows whether it committed). None committed twice: the hosts'
	// commits are at least those answered committed and at most those plus the ones in
	// doubt. An effect whose commit-record write C could not confirm rolled back there
	// and is counted by C's records (InDoubt) instead of committing.
	assert.Equal(t, int64(effects), committed.Load()+inDoubt.Load(), "every effect answered")
	assert.LessOrEqual(t, inDoubt.Load(), int64(workers), "in doubt: only effects in flight on C at the kill")
	var hostCommits, recordsInDoubt uint64
	for _, m := range members {
		hostCommits += m.host.TransactionStats().Committed
		recordsInDoubt += m.records.InDoubt()
	}
	assert.GreaterOrEqual(t, hostCommits, uint64(committed.Load()), "every effect answered committed did commit")
	assert.LessOrEqual(t, hostCommits, uint64(committed.Load()+inDoubt.Load()), "no effect committed twice")
	assert.GreaterOrEqual(t, hostCommits+recordsInDoubt, uint64(effects), "every effect committed, or counted in doubt")
	t.Logf("effects: %d answered committed, %d answered in doubt; hosts committed %d, records in doubt %d",
		committed.Load(), inDoubt.Load(), hostCommits, recordsInDoubt)
}

// requests counts the requests a service received.
func requests(s *cluster.Service) int {
	n := 0
	for _, ep := range s.Stats().Endpoints {
		n += ep.NumRequests
	}
	return n
}
