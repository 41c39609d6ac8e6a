package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/reducer"
	"github.com/onexhost/onex-host/host/server"
)

// fakeReducerCluster is a ReducerCluster holding dead letters and failed intents, and
// recording the retries asked of it.
type fakeReducerCluster struct {
	dead   []reducer.DeadLetter
	failed []reducer.FailedIntent
	// mu guards retries.
	mu      sync.Mutex
	retries []string // "node key event reduction"
}

func (c *fakeReducerCluster) Apply(context.Context, string, string, abi.ReduceEvent) (reducer.Result, error) {
	return reducer.Result{}, errors.New("not used")
}

func (c *fakeReducerCluster) State(context.Context, string, string) (uint64, json.RawMessage, error) {
	return 0, nil, nil
}

func (c *fakeReducerCluster) Keys(context.Context, string, string, int) ([]reducer.KeyInfo, bool, error) {
	return nil, false, nil
}

func (c *fakeReducerCluster) FailedIntents(_ context.Context, node string) ([]reducer.FailedIntent, error) {
	var out []reducer.FailedIntent
	for _, f := range c.failed {
		if f.Entry.Reducer == node {
			out = append(out, f)
		}
	}
	return out, nil
}

func (c *fakeReducerCluster) RetryFailed(context.Context, string, string) error { return nil }

func (c *fakeReducerCluster) PendingIntents() map[string]int {
	return map[string]int{"orders": 4, "other": 1}
}

func (c *fakeReducerCluster) DeadLetters(_ context.Context, node string) ([]reducer.DeadLetter, error) {
	var out []reducer.DeadLetter
	for _, d := range c.dead {
		if d.Node == node {
			out = append(out, d)
		}
	}
	return out, nil
}

func (c *fakeReducerCluster) RetryDeadLetter(ctx context.Context, node, key, eventID string) (reducer.Result, error) {
	c.mu.Lock()
	c.retries = append(c.retries, fmt.Sprintf("%s %s %s %s", node, key, eventID, server.ReductionOf(ctx)))
	c.mu.Unlock()
	switch eventID {
	case "ok":
		return reducer.Result{Sequence: 3, State: json.RawMessage(`{"n":3}`)}, nil
	case "fails":
		return reducer.Result{}, &reducer.FoldError{Node: node, Key: key, EventID: eventID, Err: errors.New("still refused")}
	}
	return reducer.Result{}, fmt.Errorf("%w: no dead letter %q", reducer.ErrNotFound, eventID)
}

// With a cluster (Options.ReducerCluster), the dead-letter doors and the dead-letter and
// failed-intent gauges read the cluster, not the local store; a retry goes to the
// cluster (with the request's reduction in its context) and is counted like an event.
func TestReducers_DeadLettersClustered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir("").WithDataDir("").WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	st, err := reducer.OpenStore(filepath.Join(t.TempDir(), "reducers.db"), reducer.NewConfig())
	require.NoError(t, err)
	at := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	fake := &fakeReducerCluster{
		dead: []reducer.DeadLetter{
			{Node: "orders", Key: "o1", Event: abi.ReduceEvent{EventID: "ok", Type: "ship"}, Error: "refused", Time: at},
			{Node: "orders", Key: "o2", Event: abi.ReduceEvent{EventID: "fails", Type: "ship"}, Error: "refused", Time: at},
			{Node: "other", Key: "x", Event: abi.ReduceEvent{EventID: "e", Type: "t"}, Error: "refused", Time: at},
		},
		failed: []reducer.FailedIntent{{Entry: reducer.OutboxEntry{Reducer: "orders", Key: "o1", OperationID: "op"}, Error: "no", Time: at}},
	}
	srv := server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler), Reducers: st, ReducerCluster: fake})
	require.NoError(t, srv.Load(ctx, []server.NodeSpec{{FSM: filepath.Join("..", "reducer", "fsm", "testdata", "order.yaml"), Name: "orders"}}))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		require.NoError(t, h.Close(ctx))
		require.NoError(t, st.Close())
	})
	f := &reducerFixture{url: ts.URL}

	var list struct {
		DeadLetters []reducer.DeadLetter `json:"dead_letters"`
	}
	require.Equal(t, http.StatusOK, f.get(t, "/v1/reducers/orders/dead-letters", &list))
	assert.Equal(t, fake.dead[:2], list.DeadLetters)

	var out struct {
		Sequence   uint64          `json:"sequence"`
		State      json.RawMessage `json:"state"`
		DeadLetter bool            `json:"dead_letter"`
		Error      struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	require.Equal(t, http.StatusOK, f.send(t, "/v1/reducers/orders/dead-letters/retry?key=o1&event_id=ok", "", &out))
	assert.Equal(t, uint64(3), out.Sequence)
	assert.JSONEq(t, `{"n":3}`, string(out.State))
	require.Equal(t, http.StatusUnprocessableEntity, f.send(t, "/v1/reducers/orders/dead-letters/retry?key=o2&event_id=fails", "", &out))
	assert.True(t, out.DeadLetter)
	assert.Equal(t, "fold_failed", out.Error.Code)
	require.Equal(t, http.StatusNotFound, f.send(t, "/v1/reducers/orders/dead-letters/retry?key=o3&event_id=none", "", &out))
	fake.mu.Lock()
	assert.Equal(t, []string{"orders o1 ok ", "orders o2 fails ", "orders o3 none "}, fake.retries)
	fake.mu.Unlock()

	assert.Equal(t, map[string]float64{"node=orders": 2}, scrape(t, ts.URL, "onex_reducer_dead_letters"))
	assert.Equal(t, map[string]float64{"node=orders": 1}, scrape(t, ts.URL, "onex_reducer_failed_intents"))
	assert.Equal(t, map[string]float64{"node=orders": 4}, scrape(t, ts.URL, "onex_reducer_intents_pending"))
	events := scrape(t, ts.URL, "onex_reducer_events_total")
	assert.Equal(t, 1.0, events["node=orders outcome=applied"])
	assert.Equal(t, 1.0, events["node=orders outcome=fold_failed"])
	assert.Equal(t, 1.0, events["node=orders outcome=error"])
	local, err := st.DeadLetters("orders")
	require.NoError(t, err)
	assert.Empty(t, local, "the local store is not used")
}
