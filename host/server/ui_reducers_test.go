package server_test

import (
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/server"
)

// TestUI_Reducers: a host serving a reducer plugin and an FSM contract shows both in the
// node table (an FSM node has no plugin: /v1/status must still describe it) and in the
// reducers section — each node's keys with their sequence numbers and its dead letters —
// and keeps the section current as events arrive.
func TestUI_Reducers(t *testing.T) {
	t.Parallel()
	cp, err := counterPath()
	require.NoError(t, err)
	contract := filepath.Join("..", "reducer", "fsm", "testdata", "order.yaml")
	f := serveReducers(t, server.Options{}, server.NodeSpec{Path: cp}, server.NodeSpec{FSM: contract, Name: "orders"})
	ev := func(node, key string) string { return "/v1/reducers/" + node + "/keys/" + key + "/events" }
	require.Equal(t, 200, f.send(t, ev("counter", "a"), `{"event_id":"1","type":"add","data":3}`, nil))
	require.Equal(t, 200, f.send(t, ev("counter", "a"), `{"event_id":"2","type":"add","data":4}`, nil))
	require.Equal(t, 200, f.send(t, ev("counter", "b"), `{"event_id":"1","type":"add","data":1}`, nil))
	require.Equal(t, 422, f.send(t, ev("counter", "b"), `{"event_id":"neg","type":"add","data":-1}`, nil))

	bctx, cons := browser(t)
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(f.url+"/ui")))
	waitFor(t, bctx, "both reducer nodes in the node table", `document.querySelectorAll('#nodes tbody tr').length === 2`)
	assert.Equal(t, "orders (reducer)", eval[string](t, bctx, cell("nodes", "orders", "name")))
	assert.Equal(t, "fsm", eval[string](t, bctx, cell("nodes", "orders", "flavour")))
	assert.Equal(t, "–", eval[string](t, bctx, cell("nodes", "orders", "pool")))
	waitFor(t, bctx, "the reducer rows", `document.querySelectorAll('#reducers tbody tr').length === 2`)
	// A reducer node's calls are its events: three applied, one fold that failed.
	assert.Equal(t, "4", eval[string](t, bctx, cell("nodes", "counter", "calls")))
	assert.Equal(t, "1", eval[string](t, bctx, cell("nodes", "counter", "errors")))
	assert.Equal(t, "2", eval[string](t, bctx, cell("reducers", "counter", "keys")))
	assert.Equal(t, "a #2, b #1", eval[string](t, bctx, cell("reducers", "counter", "sequences")))
	assert.Equal(t, "1", eval[string](t, bctx, cell("reducers", "counter", "dead")), "the failed fold is a dead letter")
	assert.Equal(t, "0", eval[string](t, bctx, cell("reducers", "orders", "keys")))
	assert.Equal(t, "–", eval[string](t, bctx, cell("reducers", "orders", "sequences")))

	// An event for the FSM node shows up without a reload.
	require.Equal(t, 200, f.send(t, ev("orders", "o1"), `{"event_id":"1","type":"pay","data":{"amount":5,"currency":"EUR"}}`, nil))
	waitFor(t, bctx, "the FSM node's key", cell("reducers", "orders", "sequences")+` === "o1 #1"`)
	screenshot(t, bctx, "status-page-reducers.png")
	assert.Empty(t, cons.errors(), "console errors")
}
