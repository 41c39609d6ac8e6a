package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// TestServe_ReducerStateOutlivesARestart: serve loads a reducer node, keeps its state in
// <data_dir>/reducers.db, and a second serve on the same data directory continues the key
// (the first run's event ids are duplicates).
func TestServe_ReducerStateOutlivesARestart(t *testing.T) {
	t.Parallel()
	counter := goPlugin(t, "plugins/testdata/counter")
	dataDir := t.TempDir()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	post := func(addr, id string, n int) (int, map[string]any) {
		resp, err := client.Post("http://"+addr+"/v1/reducers/counter/keys/k/events?reduction=sum", "application/json",
			strings.NewReader(fmt.Sprintf(`{"event_id":%q,"type":"add","data":%d}`, id, n)))
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp.StatusCode, out
	}
	for run, want := range []float64{5, 12} {
		addr := freeAddr(t)
		stop, logs := serveInProcess(t, fmt.Sprintf("listen: %s\ndata_dir: %s\ncache_dir: %s\nnodes: [{path: %s}]\n",
			addr, dataDir, plugintest.CacheDir(), counter))
		status, out := post(addr, "first", 5)
		require.Equal(t, 200, status, "%v\n%s", out, logs)
		assert.Equal(t, run == 1, out["duplicate"], "run %d", run)
		if run == 1 {
			status, out = post(addr, "second", 7)
			require.Equal(t, 200, status, "%v", out)
		}
		assert.Equal(t, want, out["state"].(map[string]any)["count"], "run %d", run)
		stop()
	}
	_, err := os.Stat(filepath.Join(dataDir, reducersFile))
	assert.NoError(t, err, "the store is in the data directory")
}

// TestServe_FSMNode: a config's fsm entry is served as a reducer node; the answer
// carries the FSM metadata.
func TestServe_FSMNode(t *testing.T) {
	t.Parallel()
	contract, err := filepath.Abs(filepath.Join("..", "..", "host", "reducer", "fsm", "testdata", "order.yaml"))
	require.NoError(t, err)
	addr := freeAddr(t)
	stop, logs := serveInProcess(t, fmt.Sprintf("listen: %s\ndata_dir: %s\ncache_dir: %s\nnodes: [{fsm: %s, name: orders}]\n",
		addr, t.TempDir(), plugintest.CacheDir(), contract))
	defer stop()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Post("http://"+addr+"/v1/reducers/orders/keys/o1/events", "application/json",
		strings.NewReader(`{"event_id":"1","type":"pay","data":{"amount":5,"currency":"USD"}}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		Sequence   uint64         `json:"sequence"`
		Projection map[string]any `json:"projection"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Equal(t, 200, resp.StatusCode, "%s", logs)
	assert.Equal(t, uint64(1), out.Sequence)
	assert.Equal(t, "paid", out.Projection["fsm_state"])
	assert.Equal(t, "pay", out.Projection["fsm_transition_name"])
}
