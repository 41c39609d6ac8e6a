package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/orchestrator"
)

// Workflows are served under /v1/workflows once RunWorkflows has attached an engine:
//
//	POST /v1/workflows                      start {workflow_id, workflow, input}: 201 new, 200 existing
//	GET  /v1/workflows?status=&cursor=&limit=   summaries, paged by id
//	GET  /v1/workflows/{id}                 the workflow and every step
//	POST /v1/workflows/{id}/{cancel,pause,resume}
//	GET  /v1/workflows/{id}/events          server-sent events of one workflow
//	GET  /v1/workflows/events               server-sent events of every workflow
//
// (A workflow whose id is "events" is read with GET /v1/workflows?… only: the event
// stream takes that path.)

// Workflows is the workflow engine the server's doors and step Runner use: the methods
// of *orchestrator.Engine it needs, so tests can stand in a fake. Errors are the
// engine's: orchestrator.ErrNotFound, ErrConflict, ErrUnknownWorkflow, ErrInvalidID,
// ErrFinished, ErrClosed. It must be safe for concurrent use.
type Workflows interface {
	Start(ctx context.Context, id, workflow string, input json.RawMessage) (w orchestrator.Workflow, created bool, err error)
	Get(id string) (orchestrator.Workflow, error)
	List(o orchestrator.ListOptions) (ws []orchestrator.Summary, next string, err error)
	Wait(ctx context.Context, id string) (orchestrator.Workflow, error)
	Cancel(ctx context.Context, id string) (orchestrator.Workflow, error)
	Pause(ctx context.Context, id string) (orchestrator.Workflow, error)
	Resume(ctx context.Context, id string) (orchestrator.Workflow, error)
	Subscribe(buffer int) (events <-chan orchestrator.Event, cancel func())
	Counts() map[abi.WorkflowStatus]int
}

// Default and largest page sizes of GET /v1/workflows (the engine's).
const (
	defaultWorkflowsLimit = 100
	maxWorkflowsLimit     = 1000
)

// metricsBuffer is how many workflow events the metrics subscription may fall behind
// before the engine drops some for it (the engine counts them).
const metricsBuffer = 4096

// workflowsSlot holds the attached engine; see RunWorkflows.
type workflowsSlot struct{ w Workflows }

// RunWorkflows serves w at /v1/workflows and runs orchestrate steps on it (RunStep), and
// feeds the workflow metrics from its events, until ctx ends; then it detaches w (the
// doors answer 404 again) and returns ctx.Err(). It blocks: run it in a goroutine the
// caller owns, and close the engine after it has returned. A second RunWorkflows while
// one runs returns an error at once. It is AttachWorkflows, then its run; a caller that
// must know the doors serve w before it goes on (serve, before it reports ready
// workflows) calls AttachWorkflows itself.
//
// The engine is built with the server as its Runner, so it is opened after New (and,
// to resume workflows only once their nodes serve, after Load).
func (s *Server) RunWorkflows(ctx context.Context, w Workflows) error {
	run, err := s.AttachWorkflows(w)
	if err != nil {
		return err
	}
	return run(ctx)
}

// AttachWorkflows attaches w at once: when it returns, the doors at /v1/workflows and
// orchestrate steps use w, and the metrics subscription to its events is open. The
// returned run feeds the metrics until ctx ends, then detaches w and returns ctx.Err();
// it blocks. Call run exactly once (w stays attached until it returns). With an engine
// already attached, it returns an error.
func (s *Server) AttachWorkflows(w Workflows) (run func(ctx context.Context) error, err error) {
	if !s.workflows.CompareAndSwap(nil, &workflowsSlot{w: w}) {
		return nil, errors.New("server: a workflow engine is already attached")
	}
	events, cancel := w.Subscribe(metricsBuffer)
	return func(ctx context.Context) error {
		defer s.workflows.Store(nil)
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case e, ok := <-events:
				if !ok {
					<-ctx.Done()
					return ctx.Err()
				}
				s.workflowMetrics.observe(e)
			}
		}
	}, nil
}

// engine returns the attached engine, or nil.
func (s *Server) engine() Workflows {
	if slot := s.workflows.Load(); slot != nil {
		return slot.w
	}
	return nil
}

// workflowEngine returns the attached engine, or writes 404.
func (s *Server) workflowEngine(w http.ResponseWriter) Workflows {
	e := s.engine()
	if e == nil {
		writeError(w, http.StatusNotFound, codeNotFound, "this server runs no workflow engine")
	}
	return e
}

// startRequest is the body of POST /v1/workflows.
type startRequest struct {
	WorkflowID string          `json:"workflow_id"`
	Workflow   string          `json:"workflow"`
	Input      json.RawMessage `json:"input"`
}

// decodeStart decodes b strictly: one JSON object, known fields only, workflow_id and
// workflow present.
func decodeStart(b []byte) (startRequest, error) {
	var req startRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("the body is not a start request: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, errors.New("the body holds more than one JSON value")
	}
	switch {
	case req.WorkflowID == "":
		return req, errors.New("workflow_id is required")
	case req.Workflow == "":
		return req, errors.New("workflow is required")
	}
	if len(req.Input) == 0 {
		req.Input = json.RawMessage("null")
	}
	return req, nil
}

// workflowView is a workflow as the API answers it.
type workflowView struct {
	WorkflowID string             `json:"workflow_id"`
	Workflow   string             `json:"workflow"`
	Status     abi.WorkflowStatus `json:"status"`
	Input      json.RawMessage    `json:"input,omitempty"`
	Output     json.RawMessage    `json:"output,omitempty"`
	// Error says why a failed or cancelled workflow ended (a string, unlike an error
	// response's object).
	Error     string     `json:"error,omitempty"`
	Steps     []stepView `json:"steps"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
}

// stepView is one step: its call, status, attempt, output or error (abi.StepState),
// the timings of its last attempt, and its compensation's outcome.
type stepView struct {
	abi.StepState
	StartedAt    *time.Time `json:"started_at,omitempty"`
	EndedAt      *time.Time `json:"ended_at,omitempty"`
	DurationMS   *float64   `json:"duration_ms,omitempty"` // of the last attempt, once ended
	Compensation string     `json:"compensation,omitempty"`
}

// optTime is t, or nil when zero.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func viewWorkflow(w orchestrator.Workflow) workflowView {
	v := workflowView{WorkflowID: w.ID, Workflow: w.Workflow, Status: w.Status, Input: w.Input, Output: w.Output,
		Error: w.Error, Steps: make([]stepView, 0, len(w.Steps)), CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt,
		EndedAt: optTime(w.EndedAt)}
	for _, st := range w.Steps {
		sv := stepView{StepState: st.StepState, StartedAt: optTime(st.StartedAt), EndedAt: optTime(st.EndedAt),
			Compensation: st.Compensation}
		if !st.StartedAt.IsZero() && !st.EndedAt.IsZero() {
			ms := float64(st.EndedAt.Sub(st.StartedAt)) / float64(time.Millisecond)
			sv.DurationMS = &ms
		}
		v.Steps = append(v.Steps, sv)
	}
	return v
}

// summaryView is one workflow of GET /v1/workflows.
type summaryView struct {
	WorkflowID string             `json:"workflow_id"`
	Workflow   string             `json:"workflow"`
	Status     abi.WorkflowStatus `json:"status"`
	Steps      int                `json:"steps"`
	Done       int                `json:"done"`
	CreatedAt  time.Time          `json:"created_at"`
	UpdatedAt  time.Time          `json:"updated_at"`
}

// workflowsPage is GET /v1/workflows; NextCursor, when set, is the cursor of the next page.
type workflowsPage struct {
	Workflows  []summaryView `json:"workflows"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// eventView is one workflow event as the event streams send it.
type eventView struct {
	WorkflowID string    `json:"workflow_id"`
	Workflow   string    `json:"workflow"`
	Type       string    `json:"type"`
	Step       string    `json:"step,omitempty"`
	Attempt    int       `json:"attempt,omitempty"`
	Status     string    `json:"status,omitempty"`
	DurationMS float64   `json:"duration_ms,omitempty"`
	Error      string    `json:"error,omitempty"`
	At         time.Time `json:"at"`
}

func viewEvent(e orchestrator.Event) eventView {
	return eventView{WorkflowID: e.WorkflowID, Workflow: e.Workflow, Type: e.Type, Step: e.Step, Attempt: e.Attempt,
		Status: e.Status, DurationMS: float64(e.Duration) / float64(time.Millisecond), Error: e.Error, At: e.At}
}

// writeWorkflowError writes the answer to a failed engine call.
func writeWorkflowError(w http.ResponseWriter, err error) {
	status, code, retryable := http.StatusInternalServerError, "internal", false
	switch {
	case errors.Is(err, orchestrator.ErrInvalidID):
		status, code = http.StatusBadRequest, codeInvalidInput
	case errors.Is(err, orchestrator.ErrUnknownWorkflow):
		status, code = http.StatusNotFound, "unknown_workflow"
	case errors.Is(err, orchestrator.ErrNotFound):
		status, code = http.StatusNotFound, codeNotFound
	case errors.Is(err, orchestrator.ErrConflict):
		status, code = http.StatusConflict, "conflict"
	case errors.Is(err, orchestrator.ErrFinished):
		status, code = http.StatusConflict, "finished"
	case errors.Is(err, orchestrator.ErrClosed):
		status, code, retryable = http.StatusServiceUnavailable, "closed", true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		status, code, retryable = http.StatusServiceUnavailable, "canceled", true
	}
	writeJSON(w, status, apiError{Error: errorBody{Code: code, Message: err.Error(), Retryable: retryable}})
}

// startWorkflow is POST /v1/workflows: 201 with the workflow when it is new, 200 with
// the existing one when the same id was started with the same workflow and input.
func (s *Server) startWorkflow(w http.ResponseWriter, r *http.Request) {
	if !s.Ready() {
		writeNotReady(w)
		return
	}
	e := s.workflowEngine(w)
	if e == nil {
		return
	}
	b, ok := s.body(w, r)
	if !ok {
		return
	}
	req, err := decodeStart(b)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	wf, created, err := e.Start(r.Context(), req.WorkflowID, req.Workflow, req.Input)
	if err != nil {
		writeWorkflowError(w, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, viewWorkflow(wf))
}

func (s *Server) getWorkflow(w http.ResponseWriter, r *http.Request) {
	e := s.workflowEngine(w)
	if e == nil {
		return
	}
	wf, err := e.Get(r.PathValue("id"))
	if err != nil {
		writeWorkflowError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, viewWorkflow(wf))
}

// listWorkflows is GET /v1/workflows?status=S&cursor=C&limit=L: workflows ordered by id,
// those after the cursor (the previous page's next_cursor).
func (s *Server) listWorkflows(w http.ResponseWriter, r *http.Request) {
	e := s.workflowEngine(w)
	if e == nil {
		return
	}
	q := r.URL.Query()
	o := orchestrator.ListOptions{Status: abi.WorkflowStatus(q.Get("status")), After: q.Get("cursor"), Limit: defaultWorkflowsLimit}
	switch o.Status {
	case "", abi.WorkflowPending, abi.WorkflowRunning, abi.WorkflowPaused, abi.WorkflowCompleted, abi.WorkflowFailed, abi.WorkflowCancelled:
	default:
		writeError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("status %q: want pending, running, paused, completed, failed or cancelled", o.Status))
		return
	}
	if v := q.Get("limit"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil || l < 1 || l > maxWorkflowsLimit {
			writeError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("limit must be an integer from 1 to %d", maxWorkflowsLimit))
			return
		}
		o.Limit = l
	}
	ws, next, err := e.List(o)
	if err != nil {
		writeWorkflowError(w, err)
		return
	}
	page := workflowsPage{Workflows: make([]summaryView, 0, len(ws)), NextCursor: next}
	for _, x := range ws {
		page.Workflows = append(page.Workflows, summaryView{WorkflowID: x.ID, Workflow: x.Workflow, Status: x.Status,
			Steps: x.Steps, Done: x.Done, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt})
	}
	writeJSON(w, http.StatusOK, page)
}

// controlWorkflow is POST /v1/workflows/{id}/{cancel,pause,resume}: the workflow after
// the change; 409 "finished" for a workflow that has ended.
func (s *Server) controlWorkflow(action func(Workflows, context.Context, string) (orchestrator.Workflow, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e := s.workflowEngine(w)
		if e == nil {
			return
		}
		wf, err := action(e, r.Context(), r.PathValue("id"))
		if err != nil {
			writeWorkflowError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, viewWorkflow(wf))
	}
}

// streamWorkflowEvents streams the engine's events (of workflow {id}, when the path names
// one; 404 for an id the engine does not know) as server-sent events: "event: <type>",
// "data: <eventView JSON>", until the client goes. A client too slow for sseBuffer
// events loses the newest (the engine counts them).
func (s *Server) streamWorkflowEvents(w http.ResponseWriter, r *http.Request) {
	e := s.workflowEngine(w)
	if e == nil {
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "internal", "streaming is not supported by this connection")
		return
	}
	id := r.PathValue("id")
	events, cancel := e.Subscribe(sseBuffer) // before Get: no event between them is missed
	defer cancel()
	if id != "" {
		if _, err := e.Get(id); err != nil {
			writeWorkflowError(w, err)
			return
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": subscribed to workflow events\n\n")
	flusher.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-events:
			if !ok {
				return // the engine closed
			}
			if id != "" && ev.WorkflowID != id {
				continue
			}
			b, err := json.Marshal(viewEvent(ev))
			if err != nil {
				continue
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, b); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}

// registerWorkflows adds the workflow routes to mux, with the roles of compute calls.
func (s *Server) registerWorkflows(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/workflows", s.authorize(RoleInvoke, s.startWorkflow))
	mux.HandleFunc("GET /v1/workflows", s.authorize(RoleInvoke, s.listWorkflows))
	mux.HandleFunc("GET /v1/workflows/events", s.authorize(RoleInvoke, s.streamWorkflowEvents))
	mux.HandleFunc("GET /v1/workflows/{id}", s.authorize(RoleInvoke, s.getWorkflow))
	mux.HandleFunc("GET /v1/workflows/{id}/events", s.authorize(RoleInvoke, s.streamWorkflowEvents))
	mux.HandleFunc("POST /v1/workflows/{id}/cancel", s.authorize(RoleInvoke, s.controlWorkflow(Workflows.Cancel)))
	mux.HandleFunc("POST /v1/workflows/{id}/pause", s.authorize(RoleInvoke, s.controlWorkflow(Workflows.Pause)))
	mux.HandleFunc("POST /v1/workflows/{id}/resume", s.authorize(RoleInvoke, s.controlWorkflow(Workflows.Resume)))
}
