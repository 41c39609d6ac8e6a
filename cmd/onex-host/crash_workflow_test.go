package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// relayContract moves a token file t0 → t1 → … → t4, one fileops move per step, so an
// effect applied twice fails the workflow (its source is gone); two httpcall steps
// against the test's gates hold it where the test kills the process; then a reducer
// counts it and a last effect writes the count down.
const relayContract = `name: relay
steps:
  - {id: m1, kind: effect, node: fileops, operation: move, input: {from: "%[1]s/t0", to: "%[1]s/t1"}}
  - {id: m2, kind: effect, node: fileops, operation: move, input: {from: "%[1]s/t1", to: "%[1]s/t2"}, depends_on: [m1]}
  - {id: g1, kind: effect, node: httpcall, operation: call, input: {url: "%[2]s/gate/g1"}, depends_on: [m2]}
  - {id: m3, kind: effect, node: fileops, operation: move, input: {from: "%[1]s/t2", to: "%[1]s/t3"}, depends_on: [g1]}
  - {id: m4, kind: effect, node: fileops, operation: move, input: {from: "%[1]s/t3", to: "%[1]s/t4"}, depends_on: [m3]}
  - {id: g2, kind: effect, node: httpcall, operation: call, input: {url: "%[2]s/gate/g2"}, depends_on: [m4]}
  - {id: count, kind: reduce, node: counter, operation: add, key: "${/input/key}", input: 1, depends_on: [g2]}
  - {id: done, kind: effect, node: fileops, operation: write, depends_on: [count],
     input: {path: "%[1]s/done", content: "count=${/steps/count/output/state/count}"}}
output: {count: "${/steps/count/output/state/count}"}
`

// gates is an HTTP server whose /gate/{name} answers only once the test opens that
// gate (or the caller goes away), counting the requests per gate.
type gates struct {
	mu     sync.Mutex
	hits   map[string]int           // guarded by mu
	opened map[string]chan struct{} // guarded by mu
	// arrived gets the gate's name at every request, before it waits.
	arrived chan string
}

func newGates(t *testing.T) (*gates, string) {
	g := &gates{hits: map[string]int{}, opened: map[string]chan struct{}{}, arrived: make(chan string, 16)}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/gate/")
		g.mu.Lock()
		g.hits[name]++
		ch := g.gate(name)
		g.mu.Unlock()
		g.arrived <- name
		select {
		case <-ch:
			fmt.Fprintf(w, `{"gate":%q}`, name)
		case <-r.Context().Done(): // the serve process died under the request
		}
	}))
	t.Cleanup(ts.Close)
	return g, ts.URL
}

// gate returns the channel whose closing opens gate name; the caller holds mu.
func (g *gates) gate(name string) chan struct{} {
	ch, ok := g.opened[name]
	if !ok {
		ch = make(chan struct{})
		g.opened[name] = ch
	}
	return ch
}

func (g *gates) open(name string) { g.mu.Lock(); close(g.gate(name)); g.mu.Unlock() }

func (g *gates) count(name string) int { g.mu.Lock(); defer g.mu.Unlock(); return g.hits[name] }

// await waits for a request at gate name.
func (g *gates) await(t *testing.T, name string, log fmt.Stringer) {
	t.Helper()
	eventually(t, func() bool {
		for {
			select {
			case n := <-g.arrived:
				if n == name {
					return true
				}
			default:
				return false
			}
		}
	}, "no request at gate %s: %s", name, log)
}

// TestCrash_WorkflowServeKilled runs a workflow of effects, a reducer step and two
// httpcall gates in a real serve process with a data directory and kills it (SIGKILL)
// twice: while the first gate's request is in flight (an effect attempt that never
// committed), and as soon as the event stream says step m3 completed (m4 may be
// anywhere: not started, running, committed but not recorded, recorded). After each
// restart the workflow resumes from the data directory, and it completes with every
// step at attempt 1 and every effect's mutation applied exactly once: each move's
// source is gone once it ran, so a second run would fail the workflow, and the counter
// counted the workflow once.
func TestCrash_WorkflowServeKilled(t *testing.T) {
	t.Parallel()
	fileops, httpcall, counter := goPlugin(t, "plugins/fileops"), goPlugin(t, "plugins/httpcall"), goPlugin(t, "plugins/testdata/counter")
	g, gateURL := newGates(t)
	dataDir, dir, files := t.TempDir(), t.TempDir(), t.TempDir()
	contract := filepath.Join(dir, "relay.yaml")
	require.NoError(t, os.WriteFile(contract, fmt.Appendf(nil, relayContract, files, gateURL), 0o644))
	addr := freeAddr(t)
	cfg := writeConfig(t, fmt.Sprintf(`
listen: %s
data_dir: %s
cache_dir: %s
nats: {mode: off}
nodes:
  - path: %s
    grants: {paths: [%s]}
  - path: %s
    grants: {hosts: [127.0.0.1]}
  - path: %s
  - workflow: %s
`, addr, dataDir, plugintest.CacheDir(), fileops, files, httpcall, counter, contract))
	require.NoError(t, os.WriteFile(filepath.Join(files, "t0"), []byte("token"), 0o644))
	kill := func(cmd interface{ Kill() error }) { require.NoError(t, cmd.Kill()) }

	// 1. Killed while g1's request is in flight: m1 and m2 have moved the token.
	srv, logs := startServe(t, cfg, addr)
	status, body := postJSON(t, "http://"+addr+"/v1/workflows", `{"workflow_id":"relay-1","workflow":"relay","input":{"key":"relay-1"}}`)
	require.Equal(t, http.StatusCreated, status, "%s\n%s", body, logs)
	g.await(t, "g1", logs)
	kill(srv.Process)
	_ = srv.Wait()
	assert.FileExists(t, filepath.Join(files, "t2"))

	// 2. Restarted, it resumes at g1 (run again: it never committed); killed as soon as
	// m4's move shows, before or after the engine recorded m4 completed (either way its
	// run again must not move twice). g2 stays closed: the workflow cannot end before.
	srv, logs = startServe(t, cfg, addr)
	events, stop := workflowEvents(t, "http://"+addr+"/v1/workflows/events")
	g.open("g1")
	awaitEvent(t, events, "relay-1", func(ev wfEvent) bool { return ev.Type == "step.completed" && ev.Step == "m3" }, logs)
	t4 := filepath.Join(files, "t4")
	deadline := time.Now().Add(patience(t))
	for _, err := os.Stat(t4); err != nil; _, err = os.Stat(t4) { // no sleep: the window is milliseconds
		require.True(t, time.Now().Before(deadline), "m4 never moved the token: %s", logs)
	}
	kill(srv.Process)
	_ = srv.Wait()
	stop()
	recorded := false
	for ev := range events { // what the stream delivered before the process died
		recorded = recorded || (ev.Type == "step.completed" && ev.Step == "m4")
	}
	t.Logf("second kill: m4's completion seen on the stream before the kill: %v", recorded)
	assert.Equal(t, 2, g.count("g1"), "g1 ran again after the first kill, and only then")

	// 3. Restarted, it completes.
	g.open("g2")
	_, logs = startServe(t, cfg, addr)
	var w wfView
	eventually(t, func() bool { w = getWorkflow(t, addr, "relay-1"); return w.Status != "running" }, "the workflow never ended: %s", logs)
	require.Equal(t, "completed", w.Status, "%s: %+v\n%s", w.Error, w.Steps, logs)
	assert.JSONEq(t, `{"count":1}`, string(w.Output))
	var ids []string
	for _, s := range w.Steps {
		ids = append(ids, s.Call.ID)
		assert.Equal(t, "completed", s.Status, s.Call.ID)
		assert.Equal(t, 1, s.Attempt, "%s: a step resumed after a crash keeps its attempt (and operation id)", s.Call.ID)
	}
	assert.Equal(t, []string{"m1", "m2", "g1", "m3", "m4", "g2", "count", "done"}, ids)
	assert.Equal(t, 2, g.count("g1"), "g1 completed before the second kill: not run again")
	for i := range 4 {
		assert.NoFileExists(t, filepath.Join(files, fmt.Sprintf("t%d", i)))
	}
	b, err := os.ReadFile(filepath.Join(files, "t4"))
	require.NoError(t, err)
	assert.Equal(t, "token", string(b))
	b, err = os.ReadFile(filepath.Join(files, "done"))
	require.NoError(t, err)
	assert.Equal(t, "count=1", string(b))
	// Whichever side of m4's commit the second kill fell on, each move's committed
	// attempt is recorded under its step's operation id: run again (as after a kill
	// between its commit and the engine's record of it), it is answered, not applied.
	for i, step := range []string{"m1", "m2", "m3", "m4"} {
		in, err := json.Marshal(abi.EffectInput{EffectType: "move", OperationID: abi.StepOperationID("relay-1", step, 1),
			OperationData: fmt.Appendf(nil, `{"from":%q,"to":%q}`, filepath.Join(files, fmt.Sprintf("t%d", i)), filepath.Join(files, fmt.Sprintf("t%d", i+1)))})
		require.NoError(t, err)
		resp, err := http.Post("http://"+addr+"/v1/nodes/fileops/effect", "application/json", bytes.NewReader(in))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, step)
		assert.Equal(t, "true", resp.Header.Get(server.HeaderDeduplicated), "%s: answered from the journal", step)
	}
	resp, err := http.Get("http://" + addr + "/v1/reducers/counter/keys/relay-1")
	require.NoError(t, err)
	defer resp.Body.Close()
	var key struct {
		State    json.RawMessage `json:"state"`
		Sequence uint64          `json:"sequence"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&key))
	assert.JSONEq(t, `{"count":1}`, string(key.State), "the reduce step applied once")
	assert.Equal(t, uint64(1), key.Sequence)
}
