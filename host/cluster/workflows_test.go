package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/orchestrator"
)

// fxNode is an effect node shared by the hosts of a test that deduplicates by
// operation id, as a node behind the cluster's EffectRecords does: it counts the
// requests per operation id, the operation ids per (workflow, step), and applies
// each operation id once.
type fxNode struct {
	mu       sync.Mutex
	requests map[string]int
	bySlot   map[string]map[string]bool // workflow/step → operation ids requested
	applied  int
}

func newFxNode() *fxNode {
	return &fxNode{requests: map[string]int{}, bySlot: map[string]map[string]bool{}}
}

func (a *fxNode) run(req orchestrator.StepRequest) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests[req.OperationID]++
	if a.requests[req.OperationID] == 1 {
		a.applied++
	}
	slot := req.WorkflowID + "/" + req.Call.ID
	if a.bySlot[slot] == nil {
		a.bySlot[slot] = map[string]bool{}
	}
	a.bySlot[slot][req.OperationID] = true
}

func (a *fxNode) total() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.applied
}

// wfHost is one host of a workflow test cluster: its connection, workflow store and
// engine.
type wfHost struct {
	id     string
	nc     *nats.Conn
	store  *cluster.Workflows
	engine *orchestrator.Engine

	mu   sync.Mutex
	dead bool
	// hold is a step id whose attempts do not reach the node here until unhold is
	// closed (nil: never) or they are cancelled ("" none).
	hold   string
	unhold chan struct{}
	// heldCancelled counts the held attempts that ended cancelled.
	heldCancelled atomic.Int32
}

// crash stops h as a kill -9 would: no step reaches a node from here any more, its
// leases are no longer renewed nor released, its connection closes.
func (h *wfHost) crash() {
	h.mu.Lock()
	h.dead = true
	h.mu.Unlock()
	cluster.HaltWorkflows(h.store)
	h.nc.Close()
}

// effectSteps is a workflow of n effect steps run one after another.
func effectSteps(n int) orchestrator.Definition {
	return orchestrator.Definition{Name: "steps", Plan: func(_ context.Context, in abi.OrchestrateInput) (abi.OrchestrateOutput, error) {
		for _, s := range in.Steps {
			if s.Status != abi.StepCompleted {
				return abi.OrchestrateOutput{}, nil
			}
		}
		if len(in.Steps) == n {
			return abi.OrchestrateOutput{Complete: &abi.Completion{Output: json.RawMessage(`{"ok":true}`)}}, nil
		}
		c := abi.StepCall{ID: fmt.Sprintf("s%d", len(in.Steps)+1), Kind: abi.StepEffect, Node: "fx", Operation: "apply",
			Retry: &abi.RetryPolicy{MaxAttempts: 100, DelayMS: 10}}
		return abi.OrchestrateOutput{Run: []abi.StepCall{c}}, nil
	}}
}

// newWFHost starts a host whose effect steps go to fx after a few milliseconds. A step
// of node "block" runs until it is cancelled.
func newWFHost(t testing.TB, e *cluster.Embedded, id string, lease time.Duration, def orchestrator.Definition, fx *fxNode) *wfHost {
	t.Helper()
	ctx := patientContext(t)
	nc, err := e.Connect(id)
	require.NoError(t, err)
	h := &wfHost{id: id, nc: nc}
	runner := orchestrator.RunnerFunc(func(ctx context.Context, req orchestrator.StepRequest) (json.RawMessage, error) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		h.mu.Lock()
		dead, hold, unhold := h.dead, h.hold, h.unhold
		h.mu.Unlock()
		if hold != "" && req.Call.ID == hold && unhold != nil {
			select {
			case <-ctx.Done():
				h.heldCancelled.Add(1)
				return nil, ctx.Err()
			case <-unhold:
			}
		} else if dead || req.Call.Node == "block" || (hold != "" && req.Call.ID == hold) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		fx.run(req)
		return json.RawMessage(`{"applied":true}`), nil
	})
	h.store, err = cluster.NewWorkflows(ctx, nc, id, cluster.WorkflowsConfig{Lease: lease, Partitions: 16, Logger: quiet})
	require.NoError(t, err)
	h.engine, err = orchestrator.OpenStore(h.store, orchestrator.Config{Definitions: []orchestrator.Definition{def}, Runner: runner, NoSync: true})
	require.NoError(t, err)
	require.NoError(t, h.store.Attach(h.engine))
	t.Cleanup(func() {
		_ = h.engine.Close()
		h.nc.Close()
	})
	return h
}

// TestWorkflowsTakeover starts 30 workflows of 5 effect steps on host a, which takes
// every partition; a runs steps s1 and s2 of each, and crashes (no more effects,
// renewals or writes) while every s3 is recorded running there; b and c take its
// workflows over once its leases expired and run s3 again with the same attempt: all
// complete, and each step reached its node under one operation id only (a step re-run
// after the takeover has the same attempt, so the same operation id, which a node
// behind EffectRecords deduplicates), some of them more than once.
func TestWorkflowsTakeover(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	fx := newFxNode()
	const lease, n, steps = time.Second, 30, 5
	def := effectSteps(steps)
	// b and c start once a runs everything: else their sweeps may take a partition
	// between a Start's record and its claim.
	ha := newWFHost(t, e, "a", lease, def, fx)
	ha.hold = "s3"
	ctx := patientContext(t)

	for i := range n {
		_, created, err := ha.engine.Start(ctx, fmt.Sprintf("wf-%02d", i), "steps", json.RawMessage(`{}`))
		require.NoError(t, err)
		require.True(t, created)
	}
	eventually(t, func() bool { return fx.total() == 2*n }, "a applies s1 and s2 of every workflow")
	hb := newWFHost(t, e, "b", lease, def, fx)
	hc := newWFHost(t, e, "c", lease, def, fx)
	// Idempotent cluster-wide: the same start on another host answers the record.
	w, created, err := hb.engine.Start(ctx, "wf-00", "steps", json.RawMessage(`{}`))
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, "wf-00", w.ID)
	_, _, err = hc.engine.Start(ctx, "wf-00", "steps", json.RawMessage(`{"other":1}`))
	require.ErrorIs(t, err, orchestrator.ErrConflict)

	eventually(t, func() bool { return fx.total() == 2*n }, "a applies s1 and s2 of every workflow")
	for i := range n {
		id := fmt.Sprintf("wf-%02d", i)
		eventually(t, func() bool {
			w, err := ha.engine.Get(id)
			return err == nil && len(w.Steps) == 3 && w.Steps[2].Status == abi.StepRunning
		}, "%s: s3 never recorded running on a", id)
	}
	ha.crash()

	for i := range n {
		id := fmt.Sprintf("wf-%02d", i)
		w, err := hc.engine.Wait(ctx, id)
		require.NoError(t, err, id)
		require.Equal(t, abi.WorkflowCompleted, w.Status, "%s: %s", id, w.Error)
	}
	// Each engine counts the workflows it completed: summed, every one once.
	done := 0
	for _, h := range []*wfHost{ha, hb, hc} {
		done += h.engine.Counts()[abi.WorkflowCompleted]
	}
	assert.Equal(t, n, done)
	fx.mu.Lock()
	defer fx.mu.Unlock()
	require.Len(t, fx.bySlot, n*steps)
	for slot, ops := range fx.bySlot {
		assert.Len(t, ops, 1, "step %s ran under several operation ids: %v", slot, ops)
	}
	assert.Equal(t, n*steps, fx.applied)
	assert.False(t, hb.engine.Running("wf-00") || hc.engine.Running("wf-00"))
	assert.Positive(t, hb.store.TakeOvers()+hc.store.TakeOvers(), "nobody took a's partitions over")
}

// TestWorkflowsControlRouted: a workflow run on one host is paused, resumed and
// cancelled from another; Get and List answer the same on every host.
func TestWorkflowsControlRouted(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	fx := newFxNode()
	def := orchestrator.Definition{Name: "wait", Plan: func(_ context.Context, in abi.OrchestrateInput) (abi.OrchestrateOutput, error) {
		if len(in.Steps) == 0 {
			return abi.OrchestrateOutput{Run: []abi.StepCall{{ID: "s1", Kind: abi.StepCompute, Node: "block", Operation: "x"}}}, nil
		}
		if in.Steps[0].Status == abi.StepCompleted {
			return abi.OrchestrateOutput{Complete: &abi.Completion{}}, nil
		}
		return abi.OrchestrateOutput{}, nil
	}}
	const lease = time.Second
	ha := newWFHost(t, e, "a", lease, def, fx)
	hb := newWFHost(t, e, "b", lease, def, fx)
	ctx := patientContext(t)

	_, _, err := ha.engine.Start(ctx, "w1", "wait", nil)
	require.NoError(t, err)
	eventually(t, func() bool { return ha.engine.Running("w1") || hb.engine.Running("w1") })
	owner, other := ha, hb
	if hb.engine.Running("w1") {
		owner, other = hb, ha
	}
	w, err := other.engine.Pause(ctx, "w1")
	require.NoError(t, err)
	assert.Equal(t, abi.WorkflowPaused, w.Status)
	got, err := other.engine.Get("w1")
	require.NoError(t, err)
	assert.Equal(t, abi.WorkflowPaused, got.Status)
	w, err = other.engine.Resume(ctx, "w1")
	require.NoError(t, err)
	assert.Equal(t, abi.WorkflowRunning, w.Status)
	w, err = other.engine.Cancel(ctx, "w1")
	require.NoError(t, err)
	assert.Equal(t, abi.WorkflowCancelled, w.Status)
	_, err = other.engine.Pause(ctx, "w1")
	require.ErrorIs(t, err, orchestrator.ErrFinished)
	list, _, err := owner.engine.List(orchestrator.ListOptions{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, abi.WorkflowCancelled, list[0].Status)
}

// TestWorkflowsHandOverAtClose: an engine closed with workflows running (each with s2
// recorded running there) releases its partitions and says so, and the other host
// resumes them at once — without waiting for a lease to expire or its next sweep
// tick (30 s with the test's lease) — and completes them.
func TestWorkflowsHandOverAtClose(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	fx := newFxNode()
	const n = 8
	def := effectSteps(3)
	ha := newWFHost(t, e, "a", time.Minute, def, fx) // a lease that would outlast the test
	ha.hold = "s2"
	ctx := patientContext(t)
	for i := range n {
		_, _, err := ha.engine.Start(ctx, fmt.Sprintf("h-%d", i), "steps", nil)
		require.NoError(t, err)
	}
	for i := range n {
		id := fmt.Sprintf("h-%d", i)
		eventually(t, func() bool {
			w, err := ha.engine.Get(id)
			return err == nil && len(w.Steps) == 2 && w.Steps[1].Status == abi.StepRunning
		}, "%s: s2 never recorded running on a", id)
	}
	hb := newWFHost(t, e, "b", time.Minute, def, fx)
	start := time.Now()
	require.NoError(t, ha.engine.Close())
	for i := range n {
		w, err := hb.engine.Wait(ctx, fmt.Sprintf("h-%d", i))
		require.NoError(t, err)
		assert.Equal(t, abi.WorkflowCompleted, w.Status)
		assert.Equal(t, 1, w.Steps[1].Attempt, "s2 resumed with its attempt")
	}
	// Sooner than the lease, and than a's lease/2 sweep tick: the release was announced.
	assert.Less(t, time.Since(start), 30*time.Second)
	assert.Equal(t, n*3, fx.total())
	assert.Positive(t, hb.store.TakeOvers())
}

// TestWorkflowsLeaseLostAlive: host a, alive, loses its partitions (their leases
// vanish, as when it cannot renew in time). At its next renewal it stops its loops
// there (Release: their held attempts are cancelled), and b or a itself takes each
// partition and completes its workflows. Whichever way each went, every workflow
// completes with s2 at attempt 1, each effect is applied once, and the engines'
// counts of completed workflows add up to n (a released loop is not counted twice).
func TestWorkflowsLeaseLostAlive(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	fx := newFxNode()
	const n = 6
	def := effectSteps(3)
	ha := newWFHost(t, e, "a", 0, def, fx)
	ha.hold, ha.unhold = "s2", make(chan struct{})
	ctx := patientContext(t)
	for i := range n {
		_, _, err := ha.engine.Start(ctx, fmt.Sprintf("l-%d", i), "steps", nil)
		require.NoError(t, err)
	}
	for i := range n {
		id := fmt.Sprintf("l-%d", i)
		eventually(t, func() bool {
			w, err := ha.engine.Get(id)
			return err == nil && len(w.Steps) == 2 && w.Steps[1].Status == abi.StepRunning
		}, "%s: s2 never recorded running on a", id)
	}
	hb := newWFHost(t, e, "b", 0, def, fx)
	js, err := jetstream.New(hb.nc)
	require.NoError(t, err)
	owners, err := js.KeyValue(ctx, "onex_workflow_owners")
	require.NoError(t, err)
	keys, err := owners.ListKeys(ctx)
	require.NoError(t, err)
	for k := range keys.Keys() {
		require.NoError(t, owners.Delete(ctx, k))
	}
	// Nothing but a Release ends a held attempt before unhold.
	eventually(t, func() bool { return ha.heldCancelled.Load() > 0 }, "a never stopped a loop of a lost partition")
	close(ha.unhold)
	for i := range n {
		id := fmt.Sprintf("l-%d", i)
		w, err := hb.engine.Wait(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, abi.WorkflowCompleted, w.Status)
		assert.Equal(t, 1, w.Steps[1].Attempt, "s2 resumed with its attempt")
		eventually(t, func() bool { return !ha.engine.Running(id) && !hb.engine.Running(id) }, "%s: still runs", id)
	}
	ca, cb := ha.engine.Counts(), hb.engine.Counts()
	assert.Equal(t, n, ca[abi.WorkflowCompleted]+cb[abi.WorkflowCompleted], "a: %v, b: %v", ca, cb)
	assert.Zero(t, ca[abi.WorkflowRunning]+cb[abi.WorkflowRunning], "a: %v, b: %v", ca, cb)
	assert.Equal(t, n*3, fx.total())
}
