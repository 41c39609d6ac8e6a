package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/orchestrator"
	"github.com/onexhost/onex-host/host/reducer"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// workflowFixture is a server with a fake workflow engine attached and, when withNodes,
// the core, fileops (granted dir) and counter nodes, effects through a recorder that
// passes the real answers on.
type workflowFixture struct {
	srv    *server.Server
	engine *fakeEngine
	url    string
	dir    string
	rec    *recorder
}

func newWorkflowFixture(t *testing.T, withNodes bool, tokens map[string]server.Role) *workflowFixture {
	t.Helper()
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir("").
		WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	st, err := reducer.OpenStore(filepath.Join(t.TempDir(), "reducers.db"), reducer.NewConfig())
	require.NoError(t, err)
	f := &workflowFixture{engine: newFakeEngine("order", "child"), dir: t.TempDir(),
		rec: &recorder{answer: func(r server.Response) server.Response { return r }}}
	f.srv = server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler), Tokens: tokens, Reducers: st, Effects: f.rec})
	var specs []server.NodeSpec
	if withNodes {
		cp, err := counterPath()
		require.NoError(t, err)
		specs = []server.NodeSpec{{Path: corePath}, {Path: cp},
			{Path: fileopsPath, Plugin: host.PluginConfig{Grants: host.Grants{Paths: []host.PathGrant{{Dir: f.dir}}}}}}
	}
	require.NoError(t, f.srv.Load(ctx, specs))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.srv.RunWorkflows(runCtx, f.engine) }()
	eventually(t, func() bool { return f.engine.subscribers() == 1 }, "the metrics subscription")
	ts := httptest.NewServer(f.srv.Handler())
	f.url = ts.URL
	t.Cleanup(func() {
		ts.Close()
		stop()
		require.ErrorIs(t, <-done, context.Canceled)
		require.NoError(t, h.Close(ctx))
		require.NoError(t, st.Close())
	})
	return f
}

// do sends method path with body (when not "") and decodes the answer into out.
func (f *workflowFixture) do(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.url+path, r)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

type apiErr struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		Retryable bool   `json:"retryable"`
	} `json:"error"`
}

type wfView struct {
	WorkflowID string             `json:"workflow_id"`
	Workflow   string             `json:"workflow"`
	Status     abi.WorkflowStatus `json:"status"`
	Input      json.RawMessage    `json:"input"`
	Output     json.RawMessage    `json:"output"`
	Error      string             `json:"error"`
	Steps      []struct {
		abi.StepState
		StartedAt    *time.Time `json:"started_at"`
		EndedAt      *time.Time `json:"ended_at"`
		DurationMS   *float64   `json:"duration_ms"`
		Compensation string     `json:"compensation"`
	} `json:"steps"`
	EndedAt *time.Time `json:"ended_at"`
}

// TestWorkflows_Start: a start is idempotent by id (201 then 200), and every refusal has
// its status and code.
func TestWorkflows_Start(t *testing.T) {
	t.Parallel()
	f := newWorkflowFixture(t, false, nil)
	var w wfView
	require.Equal(t, 201, f.do(t, "POST", "/v1/workflows", `{"workflow_id":"o-1","workflow":"order","input":{"n":1}}`, &w))
	assert.Equal(t, "o-1", w.WorkflowID)
	assert.Equal(t, abi.WorkflowRunning, w.Status)
	assert.JSONEq(t, `{"n":1}`, string(w.Input))
	require.Equal(t, 200, f.do(t, "POST", "/v1/workflows", `{"workflow_id":"o-1","workflow":"order","input":{"n":1}}`, &w))
	assert.Equal(t, "o-1", w.WorkflowID)
	// Without input, the input is null.
	require.Equal(t, 201, f.do(t, "POST", "/v1/workflows", `{"workflow_id":"o-2","workflow":"order"}`, &w))
	assert.JSONEq(t, `null`, string(w.Input))

	for _, c := range []struct {
		body, code string
		status     int
	}{
		{`{"workflow_id":"o-1","workflow":"order","input":{"n":2}}`, "conflict", 409},
		{`{"workflow_id":"o-3","workflow":"nope"}`, "unknown_workflow", 404},
		{`{"workflow_id":"` + strings.Repeat("x", 129) + `","workflow":"order"}`, "invalid_input", 400},
		{`{"workflow_id":"o-3","workflow":"order","extra":1}`, "invalid_request", 400},
		{`{"workflow":"order"}`, "invalid_request", 400},
		{`{"workflow_id":"o-3"}`, "invalid_request", 400},
		{`{"workflow_id":"o-3","workflow":"order"} {}`, "invalid_request", 400},
		{`[]`, "invalid_request", 400},
	} {
		var e apiErr
		assert.Equal(t, c.status, f.do(t, "POST", "/v1/workflows", c.body, &e), c.body)
		assert.Equal(t, c.code, e.Error.Code, c.body)
	}
}

// TestWorkflows_GetAndList: GET shows every step with its timings, output and error;
// the list pages by id and filters by status.
func TestWorkflows_GetAndList(t *testing.T) {
	t.Parallel()
	f := newWorkflowFixture(t, false, nil)
	for _, id := range []string{"a", "b", "c", "d"} {
		require.Equal(t, 201, f.do(t, "POST", "/v1/workflows", `{"workflow_id":"`+id+`","workflow":"order"}`, nil))
	}
	t0 := f.engine.now
	f.engine.set("b", func(w *orchestrator.Workflow) {
		w.Status, w.Output, w.EndedAt = abi.WorkflowCompleted, json.RawMessage(`{"ok":true}`), t0.Add(time.Second)
		w.Steps = []orchestrator.Step{
			{StepState: abi.StepState{Call: abi.StepCall{ID: "fetch", Kind: abi.StepEffect, Node: "httpcall"}, Status: abi.StepCompleted,
				Attempt: 2, Output: json.RawMessage(`{"status":200}`)}, StartedAt: t0, EndedAt: t0.Add(1500 * time.Microsecond), Compensation: "done"},
			{StepState: abi.StepState{Call: abi.StepCall{ID: "sum", Kind: abi.StepCompute, Node: "core"}, Status: abi.StepFailed,
				Attempt: 1, Error: &abi.StepError{Kind: "error", Message: "boom", Code: "failed"}}, StartedAt: t0},
		}
	})
	var w wfView
	require.Equal(t, 200, f.do(t, "GET", "/v1/workflows/b", "", &w))
	assert.Equal(t, abi.WorkflowCompleted, w.Status)
	assert.JSONEq(t, `{"ok":true}`, string(w.Output))
	require.NotNil(t, w.EndedAt)
	require.Len(t, w.Steps, 2)
	assert.Equal(t, "fetch", w.Steps[0].Call.ID)
	assert.Equal(t, 2, w.Steps[0].Attempt)
	assert.JSONEq(t, `{"status":200}`, string(w.Steps[0].Output))
	require.NotNil(t, w.Steps[0].DurationMS)
	assert.InDelta(t, 1.5, *w.Steps[0].DurationMS, 1e-9)
	assert.Equal(t, "done", w.Steps[0].Compensation)
	assert.Equal(t, abi.StepFailed, w.Steps[1].Status)
	assert.Equal(t, "boom", w.Steps[1].Error.Message)
	assert.NotNil(t, w.Steps[1].StartedAt)
	assert.Nil(t, w.Steps[1].EndedAt)
	assert.Nil(t, w.Steps[1].DurationMS)

	// A child workflow's id holds a '/': escaped, it is one path segment.
	require.Equal(t, 201, f.do(t, "POST", "/v1/workflows", `{"workflow_id":"b/sub","workflow":"order"}`, nil))
	require.Equal(t, 200, f.do(t, "GET", "/v1/workflows/b%2Fsub", "", &w))
	assert.Equal(t, "b/sub", w.WorkflowID)
	require.Equal(t, 200, f.do(t, "POST", "/v1/workflows/b%2Fsub/pause", "", &w))
	assert.Equal(t, abi.WorkflowPaused, w.Status)

	var e apiErr
	assert.Equal(t, 404, f.do(t, "GET", "/v1/workflows/nope", "", &e))
	assert.Equal(t, "not_found", e.Error.Code)

	type page struct {
		Workflows []struct {
			WorkflowID string             `json:"workflow_id"`
			Status     abi.WorkflowStatus `json:"status"`
			Steps      int                `json:"steps"`
		} `json:"workflows"`
		NextCursor string `json:"next_cursor"`
	}
	var p page
	require.Equal(t, 200, f.do(t, "GET", "/v1/workflows?limit=3", "", &p))
	require.Len(t, p.Workflows, 3) // a, b, b/sub
	assert.Equal(t, "a", p.Workflows[0].WorkflowID)
	assert.Equal(t, 2, p.Workflows[1].Steps)
	require.Equal(t, "b/sub", p.NextCursor)
	p = page{}
	require.Equal(t, 200, f.do(t, "GET", "/v1/workflows?limit=3&cursor=b%2Fsub", "", &p))
	require.Len(t, p.Workflows, 2)
	assert.Equal(t, "d", p.Workflows[1].WorkflowID)
	assert.Empty(t, p.NextCursor)
	p = page{}
	require.Equal(t, 200, f.do(t, "GET", "/v1/workflows?status=completed", "", &p))
	require.Len(t, p.Workflows, 1)
	assert.Equal(t, "b", p.Workflows[0].WorkflowID)
	p = page{}
	require.Equal(t, 200, f.do(t, "GET", "/v1/workflows?status=failed", "", &p))
	assert.NotNil(t, p.Workflows) // [], not null
	assert.Empty(t, p.Workflows)
	for _, q := range []string{"status=done", "limit=0", "limit=1001", "limit=x"} {
		assert.Equal(t, 400, f.do(t, "GET", "/v1/workflows?"+q, "", nil), q)
	}
}

// TestWorkflows_Control: pause, resume and cancel answer the workflow after the change;
// a finished workflow refuses with 409 "finished".
func TestWorkflows_Control(t *testing.T) {
	t.Parallel()
	f := newWorkflowFixture(t, false, nil)
	require.Equal(t, 201, f.do(t, "POST", "/v1/workflows", `{"workflow_id":"w","workflow":"order"}`, nil))
	var w wfView
	require.Equal(t, 200, f.do(t, "POST", "/v1/workflows/w/pause", "", &w))
	assert.Equal(t, abi.WorkflowPaused, w.Status)
	require.Equal(t, 200, f.do(t, "POST", "/v1/workflows/w/resume", "", &w))
	assert.Equal(t, abi.WorkflowRunning, w.Status)
	require.Equal(t, 200, f.do(t, "POST", "/v1/workflows/w/cancel", "", &w))
	assert.Equal(t, abi.WorkflowCancelled, w.Status)
	for _, action := range []string{"cancel", "pause", "resume"} {
		var e apiErr
		assert.Equal(t, 409, f.do(t, "POST", "/v1/workflows/w/"+action, "", &e), action)
		assert.Equal(t, "finished", e.Error.Code, action)
	}
	assert.Equal(t, 404, f.do(t, "POST", "/v1/workflows/nope/cancel", "", nil))
}

// sseEvents reads "data:" records of stream as workflow events into a channel, until
// the stream ends.
func sseEvents(t *testing.T, url string) (<-chan map[string]any, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	lines := bufio.NewScanner(resp.Body)
	require.True(t, lines.Scan()) // the subscription comment: subscribed before any event
	require.Contains(t, lines.Text(), "subscribed")
	ch := make(chan map[string]any, 16)
	go func() {
		defer close(ch)
		for lines.Scan() {
			if d, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				var m map[string]any
				if json.Unmarshal([]byte(d), &m) == nil {
					ch <- m
				}
			}
		}
	}()
	return ch, func() { cancel(); resp.Body.Close() }
}

// TestWorkflows_Events: the stream of one workflow carries its events only; the stream
// of every workflow carries all; an unknown workflow's stream is 404.
func TestWorkflows_Events(t *testing.T) {
	t.Parallel()
	f := newWorkflowFixture(t, false, nil)
	require.Equal(t, 201, f.do(t, "POST", "/v1/workflows", `{"workflow_id":"watched","workflow":"order"}`, nil))
	one, stopOne := sseEvents(t, f.url+"/v1/workflows/watched/events")
	defer stopOne()
	all, stopAll := sseEvents(t, f.url+"/v1/workflows/events")
	defer stopAll()
	require.Equal(t, 201, f.do(t, "POST", "/v1/workflows", `{"workflow_id":"other","workflow":"order"}`, nil))
	f.engine.emit(orchestrator.Event{WorkflowID: "watched", Workflow: "order", Type: "step.completed", Step: "s1", Attempt: 1,
		Status: "completed", Duration: 2 * time.Millisecond, At: f.engine.now})
	e := <-one
	assert.Equal(t, "watched", e["workflow_id"])
	assert.Equal(t, "step.completed", e["type"])
	assert.Equal(t, "s1", e["step"])
	assert.Equal(t, 2.0, e["duration_ms"])
	e = <-all
	assert.Equal(t, "other", e["workflow_id"])
	assert.Equal(t, "workflow.started", e["type"])
	e = <-all
	assert.Equal(t, "watched", e["workflow_id"])
	assert.Equal(t, 404, f.do(t, "GET", "/v1/workflows/nope/events", "", nil))
}

// histogramCount is the sample count of histogram name in url's /metrics.
func histogramCount(t *testing.T, url, name string) uint64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	var n uint64
	for _, m := range families[name].GetMetric() {
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}

// TestWorkflows_Metrics: the counters follow the engine's events, the status gauge its
// counts.
func TestWorkflows_Metrics(t *testing.T) {
	t.Parallel()
	f := newWorkflowFixture(t, false, nil)
	require.Equal(t, 201, f.do(t, "POST", "/v1/workflows", `{"workflow_id":"a","workflow":"order"}`, nil))
	require.Equal(t, 201, f.do(t, "POST", "/v1/workflows", `{"workflow_id":"b","workflow":"order"}`, nil))
	require.Equal(t, 200, f.do(t, "POST", "/v1/workflows/b/pause", "", nil))
	ev := func(typ string, d time.Duration) {
		f.engine.emit(orchestrator.Event{WorkflowID: "a", Workflow: "order", Type: typ, Step: "s", Duration: d})
	}
	ev("step.started", 0)
	ev("step.retrying", time.Millisecond)
	ev("step.completed", time.Millisecond)
	ev("step.failed", time.Millisecond)
	ev("step.skipped", 0)
	ev("step.compensated", 0)
	ev("step.compensation_failed", 0)
	ev("step.compensated", 0)
	eventually(t, func() bool {
		return scrape(t, f.url, "onex_workflow_compensations_total")["outcome=done"] == 2
	}, "the events observed")
	assert.Equal(t, map[string]float64{"outcome=done": 2, "outcome=failed": 1}, scrape(t, f.url, "onex_workflow_compensations_total"))
	assert.Equal(t, map[string]float64{"outcome=completed workflow=order": 1, "outcome=failed workflow=order": 1,
		"outcome=skipped workflow=order": 1}, scrape(t, f.url, "onex_workflow_steps_total"))
	assert.Equal(t, map[string]float64{"workflow=order": 1}, scrape(t, f.url, "onex_workflow_retries_total"))
	assert.Equal(t, uint64(3), histogramCount(t, f.url, "onex_workflow_step_seconds"))
	assert.Equal(t, map[string]float64{"status=pending": 0, "status=running": 1, "status=paused": 1,
		"status=completed": 0, "status=failed": 0, "status=cancelled": 0}, scrape(t, f.url, "onex_workflows"))
	// The status page learns that it may show workflows.
	var st struct{ Features map[string]bool }
	require.Equal(t, 200, f.do(t, "GET", "/v1/status", "", &st))
	assert.True(t, st.Features["workflows"])
}

// TestWorkflows_AuthAndNoEngine: the doors take the invoke role; a server without an
// engine answers 404 and reports no workflow gauge.
func TestWorkflows_AuthAndNoEngine(t *testing.T) {
	t.Parallel()
	f := newWorkflowFixture(t, false, map[string]server.Role{invokeToken: server.RoleInvoke})
	assert.Equal(t, 401, f.do(t, "GET", "/v1/workflows", "", nil))
	req, _ := http.NewRequest("GET", f.url+"/v1/workflows", nil)
	req.Header.Set("Authorization", "Bearer "+invokeToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)

	h, err := host.New(context.Background(), host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir("").
		WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer h.Close(context.Background())
	srv := server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, srv.Load(context.Background(), nil))
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	resp, err = http.Get(ts.URL + "/v1/workflows/x")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 404, resp.StatusCode)
	assert.Empty(t, scrape(t, ts.URL, "onex_workflows"))
	resp, err = http.Get(ts.URL + "/v1/status")
	require.NoError(t, err)
	var st struct{ Features map[string]bool }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	resp.Body.Close()
	assert.False(t, st.Features["workflows"])
	_, err = srv.RunStep(context.Background(), orchestrator.StepRequest{WorkflowID: "p", Call: abi.StepCall{ID: "c", Kind: abi.StepOrchestrate, Node: "x", Operation: "order"}, Attempt: 1})
	assert.Error(t, err)
	assert.NotErrorIs(t, err, orchestrator.ErrPermanent) // an engine may be attached later
}

// TestWorkflows_AttachedBeforeReady: what serve relies on to answer the workflow doors
// as soon as /readyz says ready. AttachWorkflows serves the engine when it returns (no
// goroutine to wait for), and HoldReady keeps /readyz at 503, without holding the
// operations, until released.
func TestWorkflows_AttachedBeforeReady(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir("").
		WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close(ctx)) })
	srv := server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler)})
	release := srv.HoldReady()
	require.NoError(t, srv.Load(ctx, nil))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	status := func(path string) int {
		resp, err := http.Get(ts.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.True(t, srv.Ready(), "operations are not held")
	assert.Equal(t, http.StatusServiceUnavailable, status("/readyz"))
	assert.Equal(t, http.StatusNotFound, status("/v1/workflows"), "no engine yet")

	engine := newFakeEngine("order")
	run, err := srv.AttachWorkflows(engine)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status("/v1/workflows"), "attached when AttachWorkflows returns")
	assert.Equal(t, 1, engine.subscribers(), "the metrics subscription is open")
	_, err = srv.AttachWorkflows(newFakeEngine("other"))
	assert.Error(t, err, "one engine at a time")
	other := srv.HoldReady()
	release()
	release() // a second release does nothing: other still holds
	assert.Equal(t, http.StatusServiceUnavailable, status("/readyz"))
	other()
	assert.Equal(t, http.StatusOK, status("/readyz"))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(runCtx) }()
	stop()
	require.ErrorIs(t, <-done, context.Canceled)
	assert.Equal(t, http.StatusNotFound, status("/v1/workflows"), "detached when run returns")
}
