package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/orchestrator"
	"github.com/onexhost/onex-host/host/reducer"
	"github.com/onexhost/onex-host/host/server"
)

// stepRequest is attempt of call in workflow "wf-1", with its operation id.
func stepRequest(call abi.StepCall, attempt int) orchestrator.StepRequest {
	return orchestrator.StepRequest{WorkflowID: "wf-1", Workflow: "order", Call: call, Attempt: attempt,
		OperationID: abi.StepOperationID("wf-1", call.ID, attempt)}
}

// TestRunStep_Nodes: compute, effect and reduce steps run on the server's nodes with the
// step's operation id; what asking again cannot change is permanent, the rest is not.
func TestRunStep_Nodes(t *testing.T) {
	t.Parallel()
	f := newWorkflowFixture(t, true, nil)
	ctx := context.Background()
	assert.Empty(t, f.srv.OrchestratorDefinitions(nil)) // compute, effect and reducer nodes plan no workflow

	out, err := f.srv.RunStep(ctx, stepRequest(abi.StepCall{ID: "sum", Kind: abi.StepCompute, Node: "core",
		Operation: "sum_numbers", Input: json.RawMessage(`[1,2,3]`)}, 1))
	require.NoError(t, err)
	assert.JSONEq(t, `6`, string(out))

	path := filepath.Join(f.dir, "out.txt")
	data, _ := json.Marshal(map[string]string{"path": path, "content": "hello"})
	write := stepRequest(abi.StepCall{ID: "write", Kind: abi.StepEffect, Node: "fileops", Operation: "write", Input: data}, 2)
	_, err = f.srv.RunStep(ctx, write)
	require.NoError(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))
	calls := f.rec.seen()
	require.Len(t, calls, 1) // through Options.Effects
	assert.Equal(t, "fileops", calls[0].node)
	assert.Equal(t, "write", calls[0].body.EffectType)
	assert.Equal(t, write.OperationID, calls[0].body.OperationID)

	// A write outside the grant is refused for good: permanent.
	data, _ = json.Marshal(map[string]string{"path": filepath.Join(t.TempDir(), "x"), "content": "x"})
	_, err = f.srv.RunStep(ctx, stepRequest(abi.StepCall{ID: "escape", Kind: abi.StepEffect, Node: "fileops", Operation: "write", Input: data}, 1))
	require.ErrorIs(t, err, orchestrator.ErrPermanent)
	assert.Regexp(t, `^server: step escape: fileops write answered 4\d\d \w+: \S`, err.Error(), "the node's error code and message")
	assert.NotContains(t, err.Error(), "transaction_state", "not the node's whole answer")

	add := stepRequest(abi.StepCall{ID: "count", Kind: abi.StepReduce, Node: "counter", Key: "k", Operation: "add", Input: json.RawMessage(`5`)}, 1)
	out, err = f.srv.RunStep(ctx, add)
	require.NoError(t, err)
	assert.JSONEq(t, `{"state":{"count":5},"sequence":1,"duplicate":false}`, string(out))
	out, err = f.srv.RunStep(ctx, add) // the same attempt again (after a crash): applied once
	require.NoError(t, err)
	assert.JSONEq(t, `{"state":{"count":5},"sequence":1,"duplicate":true}`, string(out))
	st, err := f.srv.RunStep(ctx, stepRequest(abi.StepCall{ID: "count", Kind: abi.StepReduce, Node: "counter", Key: "k", Operation: "add", Input: json.RawMessage(`2`)}, 2))
	require.NoError(t, err)
	assert.JSONEq(t, `{"state":{"count":7},"sequence":2,"duplicate":false}`, string(st))

	for name, call := range map[string]abi.StepCall{
		"unknown node":        {ID: "s", Kind: abi.StepCompute, Node: "nope", Operation: "sum_numbers"},
		"unknown computation": {ID: "s", Kind: abi.StepCompute, Node: "core", Operation: "nope"},
		"bad input":           {ID: "s", Kind: abi.StepCompute, Node: "core", Operation: "sum_numbers", Input: json.RawMessage(`"x"`)},
		"compute on effect":   {ID: "s", Kind: abi.StepCompute, Node: "fileops", Operation: "write"},
		"reduce on compute":   {ID: "s", Kind: abi.StepReduce, Node: "core", Key: "k", Operation: "add"},
		"unknown reducer":     {ID: "s", Kind: abi.StepReduce, Node: "nope", Key: "k", Operation: "add"},
		"unknown kind":        {ID: "s", Kind: "dance", Node: "core"},
	} {
		_, err := f.srv.RunStep(ctx, stepRequest(call, 1))
		assert.ErrorIs(t, err, orchestrator.ErrPermanent, name)
	}
}

// TestRunStep_Orchestrate: an orchestrate step starts its child under an id derived from
// the parent and the step, waits for it and answers its output; a failed child fails the
// step (retryable: a retry starts another child), an unknown workflow is permanent.
func TestRunStep_Orchestrate(t *testing.T) {
	t.Parallel()
	f := newWorkflowFixture(t, false, nil)
	ctx := context.Background()
	run := func(attempt int, end func(w *orchestrator.Workflow)) (json.RawMessage, error) {
		req := stepRequest(abi.StepCall{ID: "sub", Kind: abi.StepOrchestrate, Node: "orch", Operation: "child", Input: json.RawMessage(`{"x":1}`)}, attempt)
		type result struct {
			out json.RawMessage
			err error
		}
		done := make(chan result, 1)
		go func() {
			out, err := f.srv.RunStep(ctx, req)
			done <- result{out, err}
		}()
		id := server.ChildWorkflowID(req)
		eventually(t, func() bool { _, err := f.engine.Get(id); return err == nil }, "the child started")
		child, _ := f.engine.Get(id)
		assert.Equal(t, "child", child.Workflow)
		assert.JSONEq(t, `{"x":1}`, string(child.Input))
		f.engine.set(id, end)
		r := <-done
		return r.out, r.err
	}
	out, err := run(1, func(w *orchestrator.Workflow) { w.Status, w.Output = abi.WorkflowCompleted, json.RawMessage(`{"y":2}`) })
	require.NoError(t, err)
	assert.JSONEq(t, `{"y":2}`, string(out))
	_, err = f.engine.Get("wf-1/sub")
	require.NoError(t, err)

	_, err = run(2, func(w *orchestrator.Workflow) { w.Status, w.Error = abi.WorkflowFailed, "no luck" })
	require.ErrorContains(t, err, "no luck")
	assert.NotErrorIs(t, err, orchestrator.ErrPermanent)
	_, err = f.engine.Get("wf-1/sub~2")
	require.NoError(t, err)

	_, err = f.srv.RunStep(ctx, stepRequest(abi.StepCall{ID: "sub", Kind: abi.StepOrchestrate, Node: "orch", Operation: "nope"}, 1))
	require.ErrorIs(t, err, orchestrator.ErrPermanent)
}

// TestChildWorkflowID: ids stay within the engine's 128 bytes and apart per attempt.
func TestChildWorkflowID(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("p", 128)
	a := server.ChildWorkflowID(orchestrator.StepRequest{WorkflowID: long, Call: abi.StepCall{ID: "step"}, Attempt: 1})
	b := server.ChildWorkflowID(orchestrator.StepRequest{WorkflowID: long, Call: abi.StepCall{ID: "step"}, Attempt: 2})
	c := server.ChildWorkflowID(orchestrator.StepRequest{WorkflowID: long + "q", Call: abi.StepCall{ID: "step"}, Attempt: 1})
	assert.LessOrEqual(t, len(a), 128)
	assert.True(t, strings.HasPrefix(a, "step~1-"), a)
	assert.NotEqual(t, a, b)
	assert.NotEqual(t, a, c)
	assert.Equal(t, "p/s", server.ChildWorkflowID(orchestrator.StepRequest{WorkflowID: "p", Call: abi.StepCall{ID: "s"}, Attempt: 1}))
	assert.Equal(t, "p/s~3", server.ChildWorkflowID(orchestrator.StepRequest{WorkflowID: "p", Call: abi.StepCall{ID: "s"}, Attempt: 3}))
}

// fakeRouter answers routed operations as another host would, and reducer events.
type fakeRouter struct {
	resp   server.Response
	err    error
	routed []string // node/operation
	events []abi.ReduceEvent
}

func (r *fakeRouter) Route(ctx context.Context, name, operation string, body []byte) (server.Response, error) {
	r.routed = append(r.routed, name+"/"+operation)
	return r.resp, r.err
}

func (r *fakeRouter) Reduce(ctx context.Context, node, key string, ev abi.ReduceEvent) (reducer.Result, error) {
	r.events = append(r.events, ev)
	return reducer.Result{Sequence: 4, State: json.RawMessage(`{"count":9}`)}, nil
}

// TestRunStep_Routed: a step whose node is not loaded here goes through the Router (a
// reduce step through its Reduce); a permanent answer from there is permanent, no host
// answering is not.
func TestRunStep_Routed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir("").WithDataDir("").WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer h.Close(ctx)
	r := &fakeRouter{resp: server.Response{Status: 200, Body: []byte(`{"result":{"sum":3},"operation_id":"x"}`)}}
	srv := server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler), Router: r})
	require.NoError(t, srv.Load(ctx, nil))

	out, err := srv.RunStep(ctx, stepRequest(abi.StepCall{ID: "s", Kind: abi.StepCompute, Node: "far", Operation: "sum"}, 1))
	require.NoError(t, err)
	assert.JSONEq(t, `{"sum":3}`, string(out))
	_, err = srv.RunStep(ctx, stepRequest(abi.StepCall{ID: "e", Kind: abi.StepEffect, Node: "far-fx", Operation: "write"}, 1))
	require.NoError(t, err)
	assert.Equal(t, []string{"far/compute", "far-fx/effect"}, r.routed)

	add := stepRequest(abi.StepCall{ID: "c", Kind: abi.StepReduce, Node: "far-counter", Key: "k", Operation: "add", Input: json.RawMessage(`9`)}, 2)
	out, err = srv.RunStep(ctx, add)
	require.NoError(t, err)
	assert.JSONEq(t, `{"state":{"count":9},"sequence":4,"duplicate":false}`, string(out))
	assert.Equal(t, []abi.ReduceEvent{{EventID: add.OperationID, Type: "add", Data: json.RawMessage(`9`)}}, r.events)

	r.resp = server.Response{Status: 400, Body: []byte(`{"error":{"code":"invalid_input","message":"no"}}`)}
	_, err = srv.RunStep(ctx, stepRequest(abi.StepCall{ID: "s", Kind: abi.StepCompute, Node: "far"}, 1))
	assert.ErrorIs(t, err, orchestrator.ErrPermanent)
	r.resp = server.Response{Status: 503, Body: []byte(`{"error":{"code":"unavailable","message":"later","retryable":true}}`)}
	_, err = srv.RunStep(ctx, stepRequest(abi.StepCall{ID: "s", Kind: abi.StepCompute, Node: "far"}, 1))
	require.Error(t, err)
	assert.NotErrorIs(t, err, orchestrator.ErrPermanent)
	r.err = errors.New("no host serves far")
	_, err = srv.RunStep(ctx, stepRequest(abi.StepCall{ID: "s", Kind: abi.StepCompute, Node: "far"}, 1))
	require.Error(t, err)
	assert.NotErrorIs(t, err, orchestrator.ErrPermanent)
}
