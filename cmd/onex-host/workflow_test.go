package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/orchestrator"
	"github.com/onexhost/onex-host/host/server"
)

// memEngine is a server.Workflows over a map: Start records a running workflow, Wait
// answers what end makes of it, List pages two at a time.
type memEngine struct {
	stubEngine
	end func(w orchestrator.Workflow) orchestrator.Workflow

	mu  sync.Mutex // guards wfs
	wfs map[string]orchestrator.Workflow
}

func (m *memEngine) Start(ctx context.Context, id, name string, input json.RawMessage) (orchestrator.Workflow, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w, ok := m.wfs[id]; ok {
		return w, false, nil
	}
	w := orchestrator.Workflow{ID: id, Workflow: name, Status: abi.WorkflowRunning, Input: input}
	m.wfs[id] = w
	return w, true, nil
}

func (m *memEngine) Get(id string) (orchestrator.Workflow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.wfs[id]
	if !ok {
		return w, orchestrator.ErrNotFound
	}
	return w, nil
}

func (m *memEngine) Wait(ctx context.Context, id string) (orchestrator.Workflow, error) {
	w, err := m.Get(id)
	if err != nil {
		return w, err
	}
	return m.end(w), nil
}

func (m *memEngine) List(o orchestrator.ListOptions) ([]orchestrator.Summary, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id, w := range m.wfs {
		if id > o.After && (o.Status == "" || w.Status == o.Status) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []orchestrator.Summary
	for _, id := range ids {
		if len(out) == 2 || len(out) == o.Limit {
			return out, out[len(out)-1].ID, nil
		}
		w := m.wfs[id]
		out = append(out, orchestrator.Summary{ID: id, Workflow: w.Workflow, Status: w.Status, Steps: len(w.Steps)})
	}
	return out, "", nil
}

func (m *memEngine) Cancel(ctx context.Context, id string) (orchestrator.Workflow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.wfs[id]
	if !ok {
		return w, orchestrator.ErrNotFound
	}
	w.Status = abi.WorkflowCancelled
	m.wfs[id] = w
	return w, nil
}

func newMemEngine() *memEngine {
	return &memEngine{wfs: map[string]orchestrator.Workflow{}, end: func(w orchestrator.Workflow) orchestrator.Workflow { return w }}
}

// TestRunWorkflow: a completed workflow prints its output; a failed one is a failure
// naming its error and its failed steps.
func TestRunWorkflow(t *testing.T) {
	t.Parallel()
	m := newMemEngine()
	m.end = func(w orchestrator.Workflow) orchestrator.Workflow {
		if w.ID == "ok" {
			w.Status, w.Output = abi.WorkflowCompleted, json.RawMessage(`{"total":6}`)
			return w
		}
		w.Status, w.Error = abi.WorkflowFailed, "step charge failed"
		w.Steps = []orchestrator.Step{{StepState: abi.StepState{Call: abi.StepCall{ID: "charge"}, Status: abi.StepFailed,
			Error: &abi.StepError{Kind: "error", Message: "card declined"}}}}
		return w
	}
	var out bytes.Buffer
	e := &env{stdout: &out, stderr: &bytes.Buffer{}}
	require.NoError(t, runWorkflow(context.Background(), e, m, "ok", "order", json.RawMessage(`{"n":[1,2,3]}`)))
	assert.JSONEq(t, `{"total":6}`, out.String())
	w, err := m.Get("ok")
	require.NoError(t, err)
	assert.Equal(t, "order", w.Workflow)
	assert.JSONEq(t, `{"n":[1,2,3]}`, string(w.Input))

	out.Reset()
	err = runWorkflow(context.Background(), e, m, "bad", "order", json.RawMessage(`null`))
	var f failure
	require.ErrorAs(t, err, &f)
	assert.ErrorContains(t, err, "workflow bad failed: step charge failed (failed steps: charge: card declined)")
	assert.Empty(t, out.String())

	// A step error the workflow's error already holds is not repeated.
	m.end = func(w orchestrator.Workflow) orchestrator.Workflow {
		w.Status, w.Error = abi.WorkflowFailed, "workflow order: step charge failed: card declined\n"
		w.Steps = []orchestrator.Step{{StepState: abi.StepState{Call: abi.StepCall{ID: "charge"}, Status: abi.StepFailed,
			Error: &abi.StepError{Kind: "error", Message: "card declined\n"}}}}
		return w
	}
	err = runWorkflow(context.Background(), e, m, "bad2", "order", json.RawMessage(`null`))
	require.ErrorAs(t, err, &f)
	assert.EqualError(t, err, "workflow bad2 failed: workflow order: step charge failed: card declined")
}

// TestStepCounts: the progress line follows the step events.
func TestStepCounts(t *testing.T) {
	t.Parallel()
	var c stepCounts
	for _, typ := range []string{"step.started", "step.started", "step.completed", "step.retrying", "step.started", "step.failed", "step.skipped"} {
		c.count(orchestrator.Event{Type: typ})
	}
	assert.Equal(t, "steps: 1 done, 0 running, 1 failed, 1 skipped, 1 retries", c.String())
}

// TestWorkflowClient: status, list (every page), cancel against a serve; errors exit 1.
func TestWorkflowClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir("").WithDataDir("").WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer h.Close(ctx)
	srv := server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler), Tokens: map[string]server.Role{"tok": server.RoleInvoke}})
	require.NoError(t, srv.Load(ctx, nil))
	m := newMemEngine()
	for _, id := range []string{"a", "b", "c"} {
		_, _, err := m.Start(ctx, id, "order", json.RawMessage(`1`))
		require.NoError(t, err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.RunWorkflows(runCtx, m) }()
	defer func() { stop(); <-done }()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Main(append(args, "--addr", ts.URL, "--token", "tok"), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	// RunWorkflows attaches the engine, then subscribes: once subscribed, it serves.
	wait := time.Hour
	if d, ok := t.Deadline(); ok {
		wait = time.Until(d) * 9 / 10
	}
	require.Eventually(t, func() bool { return m.subscribed.Load() == 1 }, wait, time.Millisecond, "attached")
	code, out, _ := run("workflow", "status", "b")
	require.Equal(t, 0, code)
	var w map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &w))
	assert.Equal(t, "b", w["workflow_id"])
	assert.Equal(t, "running", w["status"])

	code, out, _ = run("workflow", "list", "--json")
	require.Equal(t, 0, code)
	var list []workflowSummary
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	require.Len(t, list, 3) // two pages
	assert.Equal(t, "c", list[2].WorkflowID)
	code, out, _ = run("workflow", "list")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "ID")
	assert.Contains(t, out, "0/0")
	assert.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 4) // the header and three rows
	code, out, _ = run("workflow", "list", "--limit", "1", "--json")
	require.Equal(t, 0, code)
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	assert.Len(t, list, 1)

	code, out, _ = run("workflow", "cancel", "a")
	require.Equal(t, 0, code)
	assert.Contains(t, out, `"status": "cancelled"`)

	code, _, errOut := run("workflow", "status", "nope")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "404 not_found")
	var errb bytes.Buffer
	assert.Equal(t, 1, Main([]string{"workflow", "status", "a", "--addr", ts.URL}, strings.NewReader(""), &bytes.Buffer{}, &errb))
	assert.Contains(t, errb.String(), "401")
}

// TestShowSteps: the line counts the workflow's own step events, redrawn in place, and
// is erased at stop.
func TestShowSteps(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	events := make(chan orchestrator.Event) // unbuffered: a send returns once it is being drawn
	stop := showSteps(&out, "w", events)
	events <- orchestrator.Event{WorkflowID: "w", Type: "step.started"}
	events <- orchestrator.Event{WorkflowID: "other", Type: "step.started"}
	events <- orchestrator.Event{WorkflowID: "w", Type: "step.completed"}
	events <- orchestrator.Event{WorkflowID: "w", Type: "step.started"} // drawn once this is taken
	stop()
	s := out.String()
	assert.Contains(t, s, "\rsteps: 0 done, 1 running, 0 failed")
	assert.Contains(t, s, "\rsteps: 1 done, 0 running, 0 failed")
	assert.NotContains(t, s, "2 running")
	assert.True(t, strings.HasSuffix(s, "\r"), "erased")
}
