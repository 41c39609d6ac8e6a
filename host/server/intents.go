package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/onexhost/onex-host/host/reducer"
)

// errIntentNotServed marks an intent whose effect node is not an effect node loaded here.
var errIntentNotServed = errors.New("server: the intent's effect node is not served here")

// RunIntents carries out the intents in the reducer store's outbox (Options.Reducers)
// until ctx ends, then returns ctx.Err() — or ErrClosed (package reducer) once the store
// is closed; nil at once when the server has no reducer store. It blocks: run it in a
// goroutine the caller owns, and close the store after it has returned.
//
// Each intent runs its effect on the effect node it names, loaded here, with the
// intent's operation id (abi.IntentOperationID) as the effect's operation_id, through
// Options.Effects when set — so a repeated intent is answered, not run again. An intent
// is done when the effect answered 200. An answer that asking again cannot change (a
// 4xx error other than 408/429 not marked retryable, e.g. invalid_input) moves it to the
// store's failed intents (GET /v1/reducers/{node}/failed-intents; POST
// .../failed-intents/retry?operation_id= puts it back), counted as outcome "rejected".
// Any other answer, or a node not served here, leaves it pending (logged once per
// intent, counted in onex_reducer_intents_total as "failed") and it is tried again with
// backoff. Intents are carried out one at a time in commit order,
// so a pending intent holds back those behind it.
func (s *Server) RunIntents(ctx context.Context) error {
	if s.opts.Reducers == nil {
		return nil
	}
	return reducer.NewDispatcher(s.opts.Reducers, s.carry, reducer.DispatchConfig{}).Run(ctx)
}

// effectRequest is the abi.EffectInput an intent becomes.
type effectRequest struct {
	EffectType    string          `json:"effect_type"`
	OperationData json.RawMessage `json:"operation_data"`
	OperationID   string          `json:"operation_id"`
}

// carry is the dispatcher's reducer.Carry.
func (s *Server) carry(ctx context.Context, e reducer.OutboxEntry) error {
	err := s.carryOnce(ctx, e)
	outcome := "carried"
	if errors.Is(err, reducer.ErrPermanent) {
		outcome = "rejected"
		s.log.Warn("intent failed permanently", "reducer", e.Reducer, "key", e.Key, "operation_id", e.OperationID,
			"node", e.Intent.Node, "effect", e.Intent.EffectType, "reason", err)
	} else if err != nil {
		outcome = "failed"
		s.intentLogMu.Lock()
		repeat := s.intentLogged == e.OperationID
		s.intentLogged = e.OperationID
		s.intentLogMu.Unlock()
		if !repeat {
			s.log.Warn("intent pending", "reducer", e.Reducer, "key", e.Key, "operation_id", e.OperationID,
				"node", e.Intent.Node, "effect", e.Intent.EffectType, "reason", err)
		}
	}
	s.reducerMetrics.intents.WithLabelValues(e.Reducer, outcome).Inc()
	return err
}

func (s *Server) carryOnce(ctx context.Context, e reducer.OutboxEntry) error {
	if !s.Ready() {
		return errors.New("server: not ready")
	}
	name := e.Intent.Node
	n := s.acquire(name)
	if n == nil || n.effect == nil {
		if n != nil {
			n.release()
		}
		return fmt.Errorf("%w: %q", errIntentNotServed, name)
	}
	defer n.release()
	data := e.Intent.OperationData
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	body, err := json.Marshal(effectRequest{EffectType: e.Intent.EffectType, OperationData: data, OperationID: e.OperationID})
	if err != nil {
		return err
	}
	exec := func(ctx context.Context) Response { return s.invoke(ctx, n, OperationEffect, body, e.OperationID) }
	var resp Response
	if s.opts.Effects != nil {
		resp, _ = s.opts.Effects.Run(ctx, name, body, exec)
	} else {
		resp = exec(ctx)
	}
	if resp.Status != http.StatusOK {
		err := fmt.Errorf("server: effect %s/%s answered %d: %s", name, e.Intent.EffectType, resp.Status, bytes.TrimSpace(resp.Body))
		if permanentAnswer(resp) {
			return reducer.Permanent(err)
		}
		return err
	}
	return nil
}

// permanentAnswer reports whether an effect's error answer cannot change by asking again:
// a 4xx other than 408 and 429 whose error body does not say retryable (invalid_input,
// capability_denied, unknown_computation, a plugin's own non-retryable error, …).
func permanentAnswer(resp Response) bool {
	if resp.Status < 400 || resp.Status >= 500 || resp.Status == http.StatusRequestTimeout || resp.Status == http.StatusTooManyRequests {
		return false
	}
	var e apiError
	if err := json.Unmarshal(resp.Body, &e); err != nil || e.Error.Code == "" {
		return false
	}
	return !e.Error.Retryable
}
