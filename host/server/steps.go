package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/orchestrator"
	"github.com/onexhost/onex-host/host/reducer"
)

// The Server is the orchestrator.Runner of the workflow engine serve opens: it runs each
// step on the node that serves it, here or (Options.Router) on another host.
var _ orchestrator.Runner = (*Server)(nil)

// reduceRouter is what a Router also does when it can apply reducer events on another
// host of the cluster (cluster.Client does).
type reduceRouter interface {
	Reduce(ctx context.Context, node, key string, ev abi.ReduceEvent) (reducer.Result, error)
}

// errStepNotServed marks a step whose node no host serves, or that is not of its kind.
var errStepNotServed = errors.New("server: the step's node is not served")

// RunStep runs one attempt of a workflow step (orchestrator.Runner) and returns its
// output:
//
//   - compute: the compute node Call.Node runs computation Call.Operation on Call.Input;
//     the output is the computation's result.
//   - effect: the effect node runs effect type Call.Operation on Call.Input with
//     operation_id req.OperationID, through Options.Effects when set, so an attempt run
//     again after a crash is answered from its first run; the output is the effect's
//     result.
//   - reduce: the reducer node applies the event {event_id: req.OperationID, type:
//     Call.Operation, data: Call.Input} to Call.Key; the output is {"state", "sequence",
//     "duplicate"}.
//   - orchestrate: starts the child workflow Call.Operation with Call.Input under the id
//     ChildWorkflowID(req) on the attached engine (RunWorkflows) and waits for it to end;
//     the output is the child's output. The child is not cancelled when the step is (a
//     restarted parent finds it again by its id).
//
// A node not loaded here runs through Options.Router (reduce steps when the Router can
// also Reduce, as the cluster's client can). An answer that asking again cannot change
// (a 4xx other than 408 and 429 not marked retryable, an unknown node or workflow, a
// failed fold) is wrapped with orchestrator.Permanent; any other error may be retried
// by the step's policy. It blocks until the step ends or ctx does.
func (s *Server) RunStep(ctx context.Context, req orchestrator.StepRequest) (json.RawMessage, error) {
	c := req.Call
	input := c.Input
	if len(input) == 0 {
		input = json.RawMessage("null")
	}
	switch c.Kind {
	case abi.StepCompute:
		body, err := json.Marshal(abi.ComputeInput{ComputationType: c.Operation, Data: input, OperationID: req.OperationID})
		if err != nil {
			return nil, orchestrator.Permanent(err)
		}
		return s.stepOperation(ctx, req, OperationCompute, body)
	case abi.StepEffect:
		body, err := json.Marshal(effectRequest{EffectType: c.Operation, OperationData: input, OperationID: req.OperationID})
		if err != nil {
			return nil, orchestrator.Permanent(err)
		}
		return s.stepOperation(ctx, req, OperationEffect, body)
	case abi.StepReduce:
		return s.stepReduce(ctx, req, abi.ReduceEvent{EventID: req.OperationID, Type: c.Operation, Data: input})
	case abi.StepOrchestrate:
		return s.stepOrchestrate(ctx, req, input)
	default:
		return nil, orchestrator.Permanent(fmt.Errorf("server: step %s: unknown kind %q", c.ID, c.Kind))
	}
}

// stepOperation runs a compute or effect step on its node and returns the result.
func (s *Server) stepOperation(ctx context.Context, req orchestrator.StepRequest, operation string, body []byte) (json.RawMessage, error) {
	if !s.Ready() {
		return nil, errors.New("server: not ready")
	}
	name := req.Call.Node
	var resp Response
	if n := s.acquire(name); n != nil {
		exec := func(ctx context.Context) Response { return s.invoke(ctx, n, operation, body, req.WorkflowID) }
		if operation == OperationEffect && s.opts.Effects != nil {
			resp, _ = s.opts.Effects.Run(ctx, name, body, exec)
		} else {
			resp = exec(ctx)
		}
		n.release()
	} else if s.opts.Router != nil {
		var err error
		if resp, err = s.opts.Router.Route(ctx, name, operation, body); err != nil {
			return nil, fmt.Errorf("server: step %s: node %s: %w", req.Call.ID, name, err) // no host now; maybe later
		}
	} else {
		return nil, orchestrator.Permanent(fmt.Errorf("%w: step %s: no node named %q", errStepNotServed, req.Call.ID, name))
	}
	if resp.Status != http.StatusOK {
		// The node's error (code and message) when the answer has one, not the whole
		// answer: the step's error is read by people and by the contract's conditions.
		var answer struct {
			Error *struct{ Code, Message string } `json:"error"`
		}
		var err error
		if json.Unmarshal(resp.Body, &answer) == nil && answer.Error != nil && answer.Error.Message != "" {
			err = fmt.Errorf("server: step %s: %s %s answered %d %s: %s", req.Call.ID, name, req.Call.Operation, resp.Status, answer.Error.Code, answer.Error.Message)
			err = orchestrator.WithCode(err, answer.Error.Code)
		} else {
			err = fmt.Errorf("server: step %s: %s %s answered %d: %s", req.Call.ID, name, operation, resp.Status, bytes.TrimSpace(resp.Body))
		}
		if permanentAnswer(resp) {
			return nil, orchestrator.Permanent(err)
		}
		return nil, err
	}
	var out struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return nil, fmt.Errorf("server: step %s: decoding %s's answer: %w", req.Call.ID, name, err)
	}
	if len(out.Result) == 0 {
		out.Result = json.RawMessage("null")
	}
	return out.Result, nil
}

// reduceStepOutput is a reduce step's output.
type reduceStepOutput struct {
	State     json.RawMessage `json:"state"`
	Sequence  uint64          `json:"sequence"`
	Duplicate bool            `json:"duplicate"`
}

// stepReduce applies ev to the step's key on the local reducer node, or through the
// Router on the cluster.
func (s *Server) stepReduce(ctx context.Context, req orchestrator.StepRequest, ev abi.ReduceEvent) (json.RawMessage, error) {
	if !s.Ready() {
		return nil, errors.New("server: not ready")
	}
	name, key := req.Call.Node, req.Call.Key
	var res reducer.Result
	var err error
	if n := s.acquire(name); n != nil {
		if n.reducer == nil {
			n.release()
			return nil, orchestrator.Permanent(fmt.Errorf("%w: step %s: %s is a %s node, not a reducer", errStepNotServed, req.Call.ID, name, n.kind()))
		}
		res, err = s.apply(ctx, n, key, ev)
		n.release()
	} else if rr, ok := s.opts.Router.(reduceRouter); ok {
		res, err = rr.Reduce(ctx, name, key, ev)
	} else {
		return nil, orchestrator.Permanent(fmt.Errorf("%w: step %s: no reducer node named %q", errStepNotServed, req.Call.ID, name))
	}
	if err != nil {
		err = fmt.Errorf("server: step %s: reducer %s key %q: %w", req.Call.ID, name, key, err)
		if errors.Is(err, reducer.ErrFold) || errors.Is(err, reducer.ErrInvalidEvent) || errors.Is(err, reducer.ErrNotFound) {
			return nil, orchestrator.Permanent(err) // a pure fold refuses the same event again
		}
		return nil, err
	}
	out, err := json.Marshal(reduceStepOutput{State: res.State, Sequence: res.Sequence, Duplicate: res.Duplicate})
	if err != nil {
		return nil, orchestrator.Permanent(err)
	}
	return out, nil
}

// maxWorkflowID is the longest workflow id the engine accepts, in bytes.
const maxWorkflowID = 128

// ChildWorkflowID is the id of the child workflow an orchestrate step's attempt starts:
// "<parent id>/<step id>" for the first attempt, "<parent id>/<step id>~<attempt>" for a
// retry (a child that failed stays failed: a retry starts a new one), so an attempt run
// again after a crash finds the child it started. An id that would pass 128 bytes is
// "<step id>~<attempt>-" and the hex SHA-256 of the long form, cut to 128 bytes.
func ChildWorkflowID(req orchestrator.StepRequest) string {
	id := req.WorkflowID + "/" + req.Call.ID
	if req.Attempt > 1 {
		id += "~" + strconv.Itoa(req.Attempt)
	}
	if len(id) <= maxWorkflowID {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	short := req.Call.ID + "~" + strconv.Itoa(req.Attempt) + "-" + hex.EncodeToString(sum[:])
	return short[:min(len(short), maxWorkflowID)]
}

// stepOrchestrate starts (or finds) the step's child workflow and waits for it.
func (s *Server) stepOrchestrate(ctx context.Context, req orchestrator.StepRequest, input json.RawMessage) (json.RawMessage, error) {
	e := s.engine()
	if e == nil {
		return nil, errors.New("server: no workflow engine is attached for a child workflow")
	}
	id := ChildWorkflowID(req)
	if _, _, err := e.Start(ctx, id, req.Call.Operation, input); err != nil {
		err = fmt.Errorf("server: step %s: child workflow %s: %w", req.Call.ID, id, err)
		if errors.Is(err, orchestrator.ErrUnknownWorkflow) || errors.Is(err, orchestrator.ErrConflict) || errors.Is(err, orchestrator.ErrInvalidID) {
			return nil, orchestrator.Permanent(err)
		}
		return nil, err
	}
	w, err := e.Wait(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("server: step %s: child workflow %s: %w", req.Call.ID, id, err)
	}
	if w.Status != abi.WorkflowCompleted {
		return nil, fmt.Errorf("server: step %s: child workflow %s %s: %s", req.Call.ID, id, w.Status, w.Error)
	}
	if len(w.Output) == 0 {
		return json.RawMessage("null"), nil
	}
	return w.Output, nil
}
