package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// clusterRelayContract moves a workflow's token file .0 → .1 → .2 → .3, one fileops
// move per step, so an effect applied twice fails the workflow (its source is gone),
// with an httpcall gate after the first move that holds every workflow where the test
// kills a host.
const clusterRelayContract = `name: relay
steps:
  - {id: m1, kind: effect, node: fileops, operation: move, input: {from: "%[1]s/${/input/name}.0", to: "%[1]s/${/input/name}.1"}}
  - {id: gate, kind: effect, node: httpcall, operation: call, input: {url: "%[2]s/gate/${/input/name}"}, depends_on: [m1],
     retry: {max_attempts: 5, delay_ms: 100}}
  - {id: m2, kind: effect, node: fileops, operation: move, input: {from: "%[1]s/${/input/name}.1", to: "%[1]s/${/input/name}.2"}, depends_on: [gate]}
  - {id: m3, kind: effect, node: fileops, operation: move, input: {from: "%[1]s/${/input/name}.2", to: "%[1]s/${/input/name}.3"}, depends_on: [m2]}
`

// TestCrashCluster_WorkflowHostKilled: three serve processes on one NATS server (in the
// test process) keep their workflows in JetStream. 50 workflows are started, spread
// over the hosts' HTTP doors; once every first move is done and one of host b's
// workflows waits at the gate, b is killed (SIGKILL) and the gate opened: a and c take b's workflow
// partitions over once its leases expired and resume its workflows (the gate step run
// again with the same attempt). All 50 complete, every step at attempt 1, and every
// token moved exactly once. By default the effect records of b's gate calls in flight
// are dropped as their expiry would drop them; with -soak they expire on their own
// (60 s): the gate attempt re-run meanwhile times out (30 s) and its retry, attempt 2,
// goes through.
func TestCrashCluster_WorkflowHostKilled(t *testing.T) {
	t.Parallel()
	bin := cliBinary(t)
	fileops, httpcall := goPlugin(t, "plugins/fileops"), goPlugin(t, "plugins/httpcall")
	natsAddr := freeAddr(t)
	e, err := cluster.StartEmbedded(cluster.EmbeddedConfig{StoreDir: t.TempDir(), Listen: natsAddr, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer e.Shutdown()

	var mu sync.Mutex
	arrived := map[string]int{} // gate requests per workflow
	open := make(chan struct{})
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived[strings.TrimPrefix(r.URL.Path, "/gate/")]++
		mu.Unlock()
		select {
		case <-open:
			fmt.Fprint(w, `{"gate":"open"}`)
		case <-r.Context().Done(): // the serve process died under the request
		}
	}))
	defer gate.Close()
	files, dir := t.TempDir(), t.TempDir()
	contract := filepath.Join(dir, "relay.yaml")
	require.NoError(t, os.WriteFile(contract, fmt.Appendf(nil, clusterRelayContract, files, gate.URL), 0o644))

	ids := []string{"a", "b", "c"}
	addrs := map[string]string{}
	procs := map[string]*exec.Cmd{}
	logs := map[string]*syncBuffer{}
	for _, id := range ids {
		addrs[id] = freeAddr(t)
		cfg := writeConfig(t, fmt.Sprintf(`
listen: %s
data_dir: %s
cache_dir: %s
nats: {mode: external, url: "nats://%s", host_id: %s}
nodes:
  - path: %s
    grants: {paths: [%s]}
  - path: %s
    grants: {hosts: [127.0.0.1]}
  - workflow: %s
`, addrs[id], t.TempDir(), plugintest.CacheDir(), natsAddr, id, fileops, files, httpcall, contract))
		cmd := exec.Command(bin, "serve", "--config", cfg)
		logs[id] = &syncBuffer{}
		cmd.Stderr = logs[id]
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		procs[id] = cmd
	}
	for _, id := range ids {
		waitReady(t, addrs[id], logs[id])
	}

	const n = 50
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("w%02d", i)
		require.NoError(t, os.WriteFile(filepath.Join(files, names[i]+".0"), []byte("token"), 0o644))
		addr := addrs[ids[i%3]]
		status, body := postJSON(t, "http://"+addr+"/v1/workflows",
			fmt.Sprintf(`{"workflow_id":%q,"workflow":"relay","input":{"name":%q}}`, names[i], names[i]))
		require.Equal(t, http.StatusCreated, status, "%s", body)
	}
	// Every first move recorded completed (so none is in flight anywhere, and each one's
	// effect record is done, not in doubt), and b holds at least one workflow at the
	// gate (httpcall runs a few calls at once per host: the others wait for an
	// instance).
	eventually(t, func() bool {
		for _, name := range names {
			w := getWorkflow(t, addrs["a"], name)
			if len(w.Steps) == 0 || w.Steps[0].Status != "completed" {
				return false
			}
		}
		return true
	}, "the first moves never all completed: a: %s\nb: %s\nc: %s", logs["a"], logs["b"], logs["c"])
	nc, err := e.Connect("test")
	require.NoError(t, err)
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), patience(t))
	defer cancel()
	// Which workflows b runs: the owners of their partitions, read from the test process.
	owners, err := cluster.NewWorkflows(ctx, nc, "test-reader", cluster.WorkflowsConfig{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer owners.Close()
	ownedBy := func(host string) []string {
		var out []string
		for _, name := range names {
			o, err := owners.Owner(ctx, name)
			require.NoError(t, err)
			if o == host {
				out = append(out, name)
			}
		}
		return out
	}
	onB := ownedBy("b")
	require.NotEmpty(t, onB, "b runs none of the workflows: killing it proves nothing")
	eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, name := range onB {
			if arrived[name] > 0 {
				return true
			}
		}
		return false
	}, "none of b's workflows reached the gate: %s", logs["b"])
	t.Logf("b runs %d of the %d workflows when it is killed", len(onB), n)

	require.NoError(t, procs["b"].Process.Kill())
	_ = procs["b"].Wait()
	// b's gate calls were in flight: their effect records (running, never committed)
	// hold their operation ids for the records' lease, 2 × the effect timeout (60 s),
	// after b's last renewal. They are dropped here as that expiry would drop them, to
	// keep the test short (not with -soak); a committing record (in doubt) would be kept.
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	fx, err := js.KeyValue(ctx, "onex_effects")
	require.NoError(t, err)
	keys, err := fx.ListKeys(ctx)
	require.NoError(t, err)
	dropped := 0
	for k := range keys.Keys() {
		if *soak {
			continue
		}
		entry, err := fx.Get(ctx, k)
		if err != nil {
			continue
		}
		var rec struct{ State, Host string }
		require.NoError(t, json.Unmarshal(entry.Value(), &rec))
		if rec.Host == "b" && rec.State == "running" {
			require.NoError(t, fx.Delete(ctx, k, jetstream.LastRevision(entry.Revision())))
			dropped++
		}
	}
	t.Logf("b's running effect records dropped: %d", dropped)
	close(open)

	for _, name := range names {
		var w wfView
		eventually(t, func() bool { w = getWorkflow(t, addrs["a"], name); return w.Status != "running" },
			"%s never ended: a: %s\nc: %s", name, logs["a"], logs["c"])
		require.Equal(t, "completed", w.Status, "%s: %s: %+v", name, w.Error, w.Steps)
		for _, s := range w.Steps {
			if *soak && s.Call.ID == "gate" {
				continue // attempt 2 after the first timed out waiting for b's record
			}
			assert.Equal(t, 1, s.Attempt, "%s %s: a step resumed after a takeover keeps its attempt (and operation id)", name, s.Call.ID)
		}
		for i := range 3 {
			assert.NoFileExists(t, filepath.Join(files, fmt.Sprintf("%s.%d", name, i)))
		}
		b, err := os.ReadFile(filepath.Join(files, name+".3"))
		require.NoError(t, err)
		assert.Equal(t, "token", string(b))
	}
	// The other hosts read the same records.
	w := getWorkflow(t, addrs["c"], names[0])
	assert.Equal(t, "completed", w.Status)
	mu.Lock()
	defer mu.Unlock()
	again := 0
	for name, c := range arrived {
		assert.LessOrEqual(t, c, 2, name)
		if c > 1 {
			again++
			assert.Contains(t, onB, name, "only b's workflows ran their gate step again")
		}
	}
	assert.Positive(t, again, "b's workflows at the gate ran it again elsewhere")
}
