package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// TestServe_ReducersAcrossThreeHosts: three serve processes' worth on one NATS server,
// each serving the counter reducer; events for one key sent to every host at once end
// at the key's owner, and every host then reads the same exact state; a redelivered
// event is a duplicate whichever host gets it; submit --reducer reaches the same key.
func TestServe_ReducersAcrossThreeHosts(t *testing.T) {
	t.Parallel()
	counter := goPlugin(t, "plugins/testdata/counter")
	natsAddr := freeAddr(t)
	addrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	for i, addr := range addrs {
		nats := fmt.Sprintf("{listen: %q, host_id: h0}", natsAddr)
		if i > 0 {
			nats = fmt.Sprintf("{mode: external, url: \"nats://%s\", host_id: h%d}", natsAddr, i)
		}
		stop, _ := serveInProcess(t, fmt.Sprintf("listen: %s\ndata_dir: %s\ncache_dir: %s\nnats: %s\nnodes: [{path: %s}]\n",
			addr, t.TempDir(), plugintest.CacheDir(), nats, counter))
		defer stop()
	}
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
	const perHost = 12
	var wg sync.WaitGroup
	want := 0
	for h, addr := range addrs {
		for i := range perHost {
			want += h*100 + i
		}
		wg.Go(func() {
			for i := range perHost {
				status, out := post(addr, fmt.Sprintf("h%d-%d", h, i), h*100+i)
				if assert.Equal(t, 200, status, "%v", out) {
					assert.Equal(t, false, out["duplicate"])
					assert.Empty(t, out["intents"], "the reduction sum reached the owner: no intents")
				}
			}
		})
	}
	wg.Wait()
	for _, addr := range addrs {
		resp, err := client.Get("http://" + addr + "/v1/reducers/counter/keys/k")
		require.NoError(t, err)
		var got struct {
			Sequence uint64 `json:"sequence"`
			State    struct {
				Count int `json:"count"`
			} `json:"state"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, uint64(3*perHost), got.Sequence, addr)
		assert.Equal(t, want, got.State.Count, addr)

		status, out := post(addr, "h1-3", 103)
		require.Equal(t, 200, status, "%v", out)
		assert.Equal(t, true, out["duplicate"], "redelivered to %s", addr)
	}
	resp, err := client.Get("http://" + addrs[2] + "/v1/reducers/counter/keys?limit=10")
	require.NoError(t, err)
	var keys struct {
		Keys []struct {
			Key      string `json:"key"`
			Sequence uint64 `json:"sequence"`
		} `json:"keys"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&keys))
	resp.Body.Close()
	require.Len(t, keys.Keys, 1)
	assert.Equal(t, uint64(3*perHost), keys.Keys[0].Sequence)

	// No intent failed (the reduction sum makes none): the cluster's list, empty.
	resp, err = client.Get("http://" + addrs[0] + "/v1/reducers/counter/failed-intents")
	require.NoError(t, err)
	var failed map[string][]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&failed))
	resp.Body.Close()
	assert.Equal(t, map[string][]any{"failed_intents": {}}, failed)
	resp, err = client.Post("http://"+addrs[0]+"/v1/reducers/counter/failed-intents/retry?operation_id=nope", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	// A reducer node no host runs: 404.
	resp, err = client.Get("http://" + addrs[1] + "/v1/reducers/nope/keys/k")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	// State changes: published once by the key's owner, bridged to every host; host 2's
	// stream sees an event sent to host 0.
	sctx, cancel := context.WithTimeout(context.Background(), patience(t)) // a missing event fails, not hangs
	defer cancel()
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, "http://"+addrs[2]+"/v1/reducers/counter/events?key=k2", nil)
	require.NoError(t, err)
	sse, err := client.Do(req)
	require.NoError(t, err)
	defer sse.Body.Close()
	lines := bufio.NewReader(sse.Body)
	line, err := lines.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, ": subscribed"), line)
	resp, err = client.Post("http://"+addrs[0]+"/v1/reducers/counter/keys/k2/events", "application/json",
		strings.NewReader(`{"event_id":"sse-1","type":"add","data":7}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	for !strings.HasPrefix(line, "data:") {
		line, err = lines.ReadString('\n')
		require.NoError(t, err)
	}
	assert.Contains(t, line, `"event_id":"sse-1"`)
	assert.Contains(t, line, `"state":{"count":7}`)

	events := filepath.Join(t.TempDir(), "events.jsonl")
	require.NoError(t, os.WriteFile(events, []byte(`{"event_id":"s1","type":"add","data":1000}`+"\n"+
		`{"event_id":"h0-0","type":"add","data":0}`+"\n"), 0o644))
	var stdout, stderr strings.Builder
	code := Main([]string{"submit", "counter", "--reducer", "--key", "k", "--reduction", "sum", "--events", events,
		"--nats-url", "nats://" + natsAddr}, strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	var sub reduceResult
	require.NoError(t, json.Unmarshal([]byte(stdout.String()), &sub), stdout.String())
	assert.Equal(t, 1, sub.Applied)
	assert.Equal(t, 1, sub.Duplicates)
	assert.Equal(t, uint64(3*perHost+1), sub.Sequence)
	assert.JSONEq(t, fmt.Sprintf(`{"count":%d}`, want+1000), string(sub.State))
}
