package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// wfEvent is one workflow event of the SSE doors.
type wfEvent struct {
	WorkflowID string `json:"workflow_id"`
	Type       string `json:"type"`
	Step       string `json:"step"`
	Attempt    int    `json:"attempt"`
	Status     string `json:"status"`
	Error      string `json:"error"`
}

// wfView is what GET /v1/workflows/{id} answers, the fields these tests read.
type wfView struct {
	WorkflowID string          `json:"workflow_id"`
	Workflow   string          `json:"workflow"`
	Status     string          `json:"status"`
	Output     json.RawMessage `json:"output"`
	Error      string          `json:"error"`
	Steps      []struct {
		Call struct {
			ID   string `json:"id"`
			Kind string `json:"kind"`
		} `json:"call"`
		Status       string          `json:"status"`
		Attempt      int             `json:"attempt"`
		Output       json.RawMessage `json:"output"`
		Error        *struct{ Message, Code string }
		StartedAt    string   `json:"started_at"`
		EndedAt      string   `json:"ended_at"`
		DurationMS   *float64 `json:"duration_ms"`
		Compensation string   `json:"compensation"`
	} `json:"steps"`
}

// workflowEvents subscribes to the server's SSE stream at url and sends its events on
// the returned channel until the stream ends (the server dies, or stop is called). It
// returns once subscribed: no event after it is missed.
func workflowEvents(t *testing.T, url string) (events <-chan wfEvent, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	lines := bufio.NewScanner(resp.Body)
	require.True(t, lines.Scan(), "the subscription comment")
	require.Contains(t, lines.Text(), "subscribed")
	ch := make(chan wfEvent, 1024)
	go func() {
		defer close(ch)
		for lines.Scan() {
			if d, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				var ev wfEvent
				if json.Unmarshal([]byte(d), &ev) == nil {
					ch <- ev
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	return ch, func() { cancel(); resp.Body.Close() }
}

// awaitEvent receives from events until one of workflow id satisfies match, failing t
// when the stream ends first or patience runs out; it returns the events it received.
func awaitEvent(t *testing.T, events <-chan wfEvent, id string, match func(wfEvent) bool, log fmt.Stringer) []wfEvent {
	t.Helper()
	var seen []wfEvent
	ctx, cancel := context.WithTimeout(context.Background(), patience(t))
	defer cancel()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("the event stream ended; seen %+v\n%s", seen, log)
			}
			if ev.WorkflowID != id {
				continue
			}
			seen = append(seen, ev)
			if match(ev) {
				return seen
			}
		case <-ctx.Done():
			t.Fatalf("gave up waiting; seen %+v\n%s", seen, log)
		}
	}
}

// postJSON posts body to url and returns the status and the answer.
func postJSON(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// getWorkflow reads GET /v1/workflows/{id} of the server at addr.
func getWorkflow(t *testing.T, addr, id string) wfView {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/v1/workflows/" + id)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var w wfView
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&w))
	return w
}

// startServe starts `onex-host serve --config cfg` as a real process and waits until it
// is ready; the process is killed when the test ends.
func startServe(t *testing.T, cfg, addr string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(cliBinary(t), "serve", "--config", cfg)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitReady(t, addr, logs)
	return cmd, logs
}

// publishContract is a workflow over the three kinds of local node: a computation, a
// file written by an effect, and a reducer key counted.
const publishContract = `name: publish
steps:
  - id: shout
    kind: compute
    node: core
    operation: string_uppercase
    input: "${/input/text}"
  - id: write
    kind: effect
    node: fileops
    operation: write
    depends_on: [shout]
    input: {path: "%[1]s/${/input/name}.txt", content: "${/steps/shout/output}"}
  - id: count
    kind: reduce
    node: counter
    operation: add
    key: "${/input/name}"
    input: 2
    depends_on: [write]
output: {text: "${/steps/shout/output}", count: "${/steps/count/output/state/count}"}
`

// sagaContract writes a file, then fails reading one that is not there: the saga
// deletes the file it wrote.
const sagaContract = `name: saga
failure_strategy: compensate
steps:
  - id: write
    kind: effect
    node: fileops
    operation: write
    input: {path: "%[1]s/${/input/name}.saga", content: "x"}
    compensate: {node: fileops, effect_type: delete, operation_data: {path: "%[1]s/${/input/name}.saga"}}
  - id: read
    kind: effect
    node: fileops
    operation: read
    depends_on: [write]
    input: {path: "%[1]s/missing"}
`

// parentContract runs the orchestrator plugin saga's workflow "replay" (which answers
// its input's reply as its decision: here, complete) as a child workflow.
const parentContract = `name: parent
steps:
  - id: child
    kind: orchestrate
    node: saga
    operation: replay
    input: {reply: '{"complete":{"output":{"from":"${/input/name}"}}}'}
output: {child: "${/steps/child/output}"}
`

// TestServeWorkflow_HTTP serves a workflow contract beside the plugins its steps name
// and drives it through the doors of a real serve process: POST /v1/workflows starts it
// (a second POST with the same id answers the same workflow, another input conflicts),
// the event stream carries every step to workflow.completed, GET shows every step's
// status, timings and output, and the CLI's status and list read it back. A failed step
// shows its node's error code, and the saga compensates. (No data directory: the
// engine keeps its workflows in a temporary file.)
func TestServeWorkflow_HTTP(t *testing.T) {
	t.Parallel()
	core, fileops, counter := goPlugin(t, "plugins/core"), goPlugin(t, "plugins/fileops"), goPlugin(t, "plugins/testdata/counter")
	out, dir := t.TempDir(), t.TempDir()
	contract, saga, parent := filepath.Join(dir, "publish.yaml"), filepath.Join(dir, "saga.yaml"), filepath.Join(dir, "parent.yaml")
	require.NoError(t, os.WriteFile(contract, fmt.Appendf(nil, publishContract, out), 0o644))
	require.NoError(t, os.WriteFile(saga, fmt.Appendf(nil, sagaContract, out), 0o644))
	require.NoError(t, os.WriteFile(parent, []byte(parentContract), 0o644))
	sagaPlugin := goPlugin(t, "plugins/testdata/saga")
	addr := freeAddr(t)
	cfg := writeConfig(t, fmt.Sprintf(`
listen: %s
data_dir: ""
cache_dir: %s
nats: {mode: off}
nodes:
  - path: %s
  - path: %s
    grants: {paths: [%s]}
  - path: %s
  - path: %s
  - workflow: %s
  - workflow: %s
  - workflow: %s
`, addr, plugintest.CacheDir(), core, fileops, out, counter, sagaPlugin, contract, saga, parent))
	_, logs := startServe(t, cfg, addr)

	events, _ := workflowEvents(t, "http://"+addr+"/v1/workflows/events")
	start := `{"workflow_id":"order/1","workflow":"publish","input":{"text":"hello","name":"a"}}`
	status, body := postJSON(t, "http://"+addr+"/v1/workflows", start)
	require.Equal(t, http.StatusCreated, status, "%s\n%s", body, logs)
	seen := awaitEvent(t, events, "order/1", func(ev wfEvent) bool { return strings.HasPrefix(ev.Type, "workflow.") && ev.Type != "workflow.started" }, logs)
	var types []string
	for _, ev := range seen {
		types = append(types, ev.Type+" "+ev.Step)
	}
	assert.Equal(t, []string{"workflow.started ", "step.started shout", "step.completed shout", "step.started write", "step.completed write",
		"step.started count", "step.completed count", "workflow.completed "}, types)

	// The same id again: the same workflow (200), not a second one; another input: 409.
	status, body = postJSON(t, "http://"+addr+"/v1/workflows", start)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var again wfView
	require.NoError(t, json.Unmarshal(body, &again))
	assert.Equal(t, "completed", again.Status)
	status, body = postJSON(t, "http://"+addr+"/v1/workflows", `{"workflow":"publish","input":{"name":"a","text":"hello"},"workflow_id":"order/1"}`)
	assert.Equal(t, http.StatusOK, status, "the same input in another member order: %s", body)
	status, body = postJSON(t, "http://"+addr+"/v1/workflows", `{"workflow_id":"order/1","workflow":"publish","input":{"text":"bye","name":"a"}}`)
	assert.Equal(t, http.StatusConflict, status, "%s", body)

	w := getWorkflow(t, addr, "order%2F1")
	assert.Equal(t, "order/1", w.WorkflowID)
	assert.Equal(t, "completed", w.Status)
	assert.JSONEq(t, `{"text":"HELLO","count":2}`, string(w.Output))
	require.Len(t, w.Steps, 3)
	for i, want := range []struct{ id, kind, output string }{
		{"shout", "compute", `"HELLO"`},
		{"write", "effect", `null`},
		{"count", "reduce", `{"state":{"count":2},"sequence":1,"duplicate":false}`},
	} {
		s := w.Steps[i]
		assert.Equal(t, want.id, s.Call.ID)
		assert.Equal(t, want.kind, s.Call.Kind)
		assert.Equal(t, "completed", s.Status, want.id)
		assert.Equal(t, 1, s.Attempt, want.id)
		assert.JSONEq(t, want.output, string(s.Output), want.id)
		assert.NotEmpty(t, s.StartedAt, want.id)
		assert.NotEmpty(t, s.EndedAt, want.id)
		assert.NotNil(t, s.DurationMS, want.id)
	}
	b, err := os.ReadFile(filepath.Join(out, "a.txt"))
	require.NoError(t, err)
	assert.Equal(t, "HELLO", string(b))

	// A failed step: its node's error code and message; the step before it compensated.
	status, body = postJSON(t, "http://"+addr+"/v1/workflows", `{"workflow_id":"saga-1","workflow":"saga","input":{"name":"s"}}`)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	awaitEvent(t, events, "saga-1", func(ev wfEvent) bool { return ev.Type == "workflow.failed" }, logs)
	w = getWorkflow(t, addr, "saga-1")
	assert.Equal(t, "failed", w.Status)
	require.Len(t, w.Steps, 2)
	assert.Equal(t, "compensated", w.Steps[0].Status)
	assert.Equal(t, "done", w.Steps[0].Compensation)
	assert.Equal(t, "failed", w.Steps[1].Status)
	require.NotNil(t, w.Steps[1].Error)
	assert.Equal(t, "not_found", w.Steps[1].Error.Code)
	assert.Regexp(t, `^server: step read: fileops read answered 422 not_found: .*no such file`, w.Steps[1].Error.Message)
	assert.NoFileExists(t, filepath.Join(out, "s.saga"), "compensated")

	// An orchestrate step: the plugin's workflow runs as a child, under <parent>/<step>.
	status, body = postJSON(t, "http://"+addr+"/v1/workflows", `{"workflow_id":"p-1","workflow":"parent","input":{"name":"kid"}}`)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	awaitEvent(t, events, "p-1", func(ev wfEvent) bool { return ev.Type == "workflow.completed" || ev.Type == "workflow.failed" }, logs)
	w = getWorkflow(t, addr, "p-1")
	require.Equal(t, "completed", w.Status, "%s\n%s", w.Error, logs)
	assert.JSONEq(t, `{"child":{"from":"kid"}}`, string(w.Output))
	child := getWorkflow(t, addr, "p-1%2Fchild")
	assert.Equal(t, "replay", child.Workflow)
	assert.Equal(t, "completed", child.Status)

	code, stdout, stderr := cli(t, "", "workflow", "status", "order/1", "--addr", "http://"+addr)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `"status": "completed"`)
	code, stdout, stderr = cli(t, "", "workflow", "list", "--addr", "http://"+addr)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `order/1\s+publish\s+completed\s+3/3`, stdout)
	assert.Regexp(t, `p-1/child\s+replay\s+completed`, stdout)
}

// controlContract writes a, waits at the test's gate named by the input, then writes
// b; a failure or a cancel deletes a.
const controlContract = `name: control
failure_strategy: compensate
steps:
  - id: a
    kind: effect
    node: fileops
    operation: write
    input: {path: "%[1]s/${/input/gate}-a", content: "a"}
    compensate: {node: fileops, effect_type: delete, operation_data: {path: "%[1]s/${/input/gate}-a"}}
  - {id: gate, kind: effect, node: httpcall, operation: call, input: {url: "%[2]s/gate/${/input/gate}"}, depends_on: [a]}
  - {id: b, kind: effect, node: fileops, operation: write, input: {path: "%[1]s/${/input/gate}-b", content: "b"}, depends_on: [gate]}
`

// TestServeWorkflow_Control pauses, resumes and cancels running workflows through the
// HTTP doors and the CLI of a real serve: paused while a step runs, the step finishes
// and nothing new starts until resume; cancelled while a step runs, the step is
// cancelled and the saga deletes what the workflow wrote; an ended workflow refuses
// control with 409.
func TestServeWorkflow_Control(t *testing.T) {
	t.Parallel()
	fileops, httpcall := goPlugin(t, "plugins/fileops"), goPlugin(t, "plugins/httpcall")
	g, gateURL := newGates(t)
	out, dir := t.TempDir(), t.TempDir()
	contract := filepath.Join(dir, "control.yaml")
	require.NoError(t, os.WriteFile(contract, fmt.Appendf(nil, controlContract, out, gateURL), 0o644))
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
  - workflow: %s
`, addr, t.TempDir(), plugintest.CacheDir(), fileops, out, httpcall, contract))
	_, logs := startServe(t, cfg, addr)
	base := "http://" + addr
	events, _ := workflowEvents(t, base+"/v1/workflows/events")

	// Paused while the gate's request is in flight.
	status, body := postJSON(t, base+"/v1/workflows", `{"workflow_id":"w-pause","workflow":"control","input":{"gate":"p"}}`)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	g.await(t, "p", logs)
	code, stdout, stderr := cli(t, "", "workflow", "pause", "w-pause", "--addr", base)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `"status": "paused"`)
	g.open("p")
	awaitEvent(t, events, "w-pause", func(ev wfEvent) bool { return ev.Type == "step.completed" && ev.Step == "gate" }, logs)
	w := getWorkflow(t, addr, "w-pause")
	assert.Equal(t, "paused", w.Status)
	assert.Len(t, w.Steps, 2, "b not started while paused")
	status, body = postJSON(t, base+"/v1/workflows/w-pause/resume", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	awaitEvent(t, events, "w-pause", func(ev wfEvent) bool { return ev.Type == "workflow.completed" }, logs)
	assert.FileExists(t, filepath.Join(out, "p-b"))
	status, body = postJSON(t, base+"/v1/workflows/w-pause/cancel", "")
	assert.Equal(t, http.StatusConflict, status, "an ended workflow: %s", body)
	assert.Contains(t, string(body), `"finished"`)

	// Cancelled while the gate's request is in flight: compensated.
	status, body = postJSON(t, base+"/v1/workflows", `{"workflow_id":"w-cancel","workflow":"control","input":{"gate":"c"}}`)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	g.await(t, "c", logs)
	require.FileExists(t, filepath.Join(out, "c-a"))
	code, _, stderr = cli(t, "", "workflow", "cancel", "w-cancel", "--addr", base)
	require.Equal(t, 0, code, stderr)
	awaitEvent(t, events, "w-cancel", func(ev wfEvent) bool { return ev.Type == "workflow.cancelled" }, logs)
	w = getWorkflow(t, addr, "w-cancel")
	assert.Equal(t, "cancelled", w.Status)
	require.Len(t, w.Steps, 2)
	assert.Equal(t, "done", w.Steps[0].Compensation)
	assert.Equal(t, "cancelled", w.Steps[1].Status)
	assert.NoFileExists(t, filepath.Join(out, "c-a"), "compensated")
	assert.NoFileExists(t, filepath.Join(out, "c-b"))
}
