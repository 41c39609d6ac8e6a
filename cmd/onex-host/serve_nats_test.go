package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/onexhost/onex-host/host/server/config"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// writeConfig writes doc as a config file and returns its path.
func writeConfig(t *testing.T, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "onex.yaml")
	require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
	return path
}

// serveInProcess runs serve with the config doc until the returned stop is called (what
// SIGTERM does through Main's context); logs has what it logged.
func serveInProcess(t *testing.T, doc string) (stop func(), logs *syncBuffer) {
	t.Helper()
	f, err := config.Load(writeConfig(t, doc))
	require.NoError(t, err)
	logs = &syncBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: logs, logLevel: "info"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, e, f, serveMode{}) }()
	waitReady(t, f.Listen, logs)
	return func() {
		cancel()
		require.NoError(t, <-done, "serve exits cleanly: %s", logs)
	}, logs
}

// The default: an embedded NATS server, nodes served on it, the same HTTP API; and
// nothing left running after the shutdown.
func TestServe_EmbeddedNATSDefault(t *testing.T) {
	before := goleak.IgnoreCurrent()
	core := goPlugin(t, "plugins/core")
	addr := freeAddr(t)
	stop, _ := serveInProcess(t, fmt.Sprintf("listen: %s\ndata_dir: %s\ncache_dir: %s\nnodes: [{path: %s}]\n",
		addr, t.TempDir(), plugintest.CacheDir(), core))

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/readyz")
	require.NoError(t, err)
	var ready struct {
		NATS struct {
			Status string `json:"status"`
		} `json:"nats"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&ready))
	resp.Body.Close()
	assert.Equal(t, "CONNECTED", ready.NATS.Status)

	resp, err = client.Post("http://"+addr+"/v1/nodes/core/compute", "application/json",
		strings.NewReader(`{"computation_type":"sum_numbers","data":[1,2,3]}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `"result":6`)

	resp, err = client.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(metrics), "onex_nats_connected 1")
	assert.Contains(t, string(metrics), `onex_cluster_requests_total{node="core",operation="compute"} 0`)

	stop()
	http.DefaultClient.CloseIdleConnections() // waitReady's
	goleak.VerifyNone(t, before)
}

// Two serve processes' worth in one test: B has no nodes and routes to A over the
// NATS listener A opened; submit's client reaches A too.
func TestServe_TwoHostsOverNATSListener(t *testing.T) {
	t.Parallel()
	core := goPlugin(t, "plugins/core")
	natsAddr, a, b := freeAddr(t), freeAddr(t), freeAddr(t)
	stopA, _ := serveInProcess(t, fmt.Sprintf("listen: %s\ndata_dir: %s\ncache_dir: %s\nnats: {listen: %q, host_id: a}\nnodes: [{path: %s}]\n",
		a, t.TempDir(), plugintest.CacheDir(), natsAddr, core))
	defer stopA()
	stopB, _ := serveInProcess(t, fmt.Sprintf("listen: %s\ndata_dir: %s\ncache_dir: %s\nnats: {mode: external, url: \"nats://%s\", host_id: b}\nnodes: []\n",
		b, t.TempDir(), plugintest.CacheDir(), natsAddr))
	defer stopB()

	resp, err := http.Post("http://"+b+"/v1/nodes/core/compute", "application/json",
		strings.NewReader(`{"computation_type":"string_uppercase","data":"abc"}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Contains(t, string(body), `"result":"ABC"`, "B routed it to A")

	// B's status page lists both hosts and what each serves.
	type member struct {
		Host    string   `json:"host"`
		Version string   `json:"version"`
		Nodes   []string `json:"nodes"`
		Self    bool     `json:"self"`
	}
	var members []member
	eventually(t, func() bool {
		resp, err := http.Get("http://" + b + "/v1/status")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st struct {
			Members []member `json:"members"`
		}
		if json.NewDecoder(resp.Body).Decode(&st) != nil {
			return false
		}
		members = st.Members
		return len(members) == 2
	}, "both hosts in B's /v1/status")
	for i := range members {
		// The build's own version, made semantic for micro (serviceversion.go), not
		// micro's placeholder.
		assert.NotEqual(t, "0.0.0", members[i].Version, members[i].Host)
		assert.NotEmpty(t, members[i].Version, members[i].Host)
		members[i].Version = ""
	}
	assert.Equal(t, []member{{Host: "a", Nodes: []string{"core"}}, {Host: "b", Nodes: []string{}, Self: true}}, members)

	var out, errs strings.Builder
	code := Main([]string{"submit", "core", "--type", "sum_numbers", "--data", "[2,3]", "--nats-url", "nats://" + natsAddr},
		strings.NewReader(""), &out, &errs)
	require.Equal(t, 0, code, errs.String())
	assert.Contains(t, out.String(), `"result": 5`)

	// A node no host serves: exit 1 and a clear error once the attempts are spent.
	errs.Reset()
	code = Main([]string{"submit", "nope", "--attempts", "2", "--nats-url", "nats://" + natsAddr}, strings.NewReader(""), &out, &errs)
	assert.Equal(t, 1, code)
	assert.Contains(t, errs.String(), "no host serves the node")
}
