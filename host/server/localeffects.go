package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/effect"
	"github.com/onexhost/onex-host/host/reducer"
)

// LocalEffects is the EffectRecorder of a host without a cluster: it runs each effect at
// most once per node and operation id on this host, across restarts and crashes, with
// the answers kept in the host's journal (Config.DataDir). A request without an
// operation_id runs as is.
//
// The answer of a run is staged by the effect's commit guard (effect.WithCommitGuard)
// and written by the journal in the same write as the transaction's commit point
// (host.Host.StageEffectAnswer), so after a crash at any instant it exists if and only if
// the effect committed: a repeat of a committed operation id is answered from it without
// running (dedup true, header Onex-Deduplicated), and one whose first run rolled back —
// or never reached its commit — runs again. Once the effect has returned, the recorded
// answer is replaced by the exact reply (the staged one differs only in the timings and
// counts filled in after the commit), so a repeat reads exactly like the first answer;
// after a crash between the commit and that replacement it reads like the staged one.
// Requests with one node and operation id run one at a time on this host.
//
// Effects run without a transaction (no_transaction) commit nothing and are not
// recorded; every repeat runs. Answers are kept as long as the journal's records
// (Compact, 24 h by default), after which a repeat runs again. Without a journal (no
// DataDir) every request runs.
//
// LocalEffects is safe for concurrent use.
type LocalEffects struct {
	h     *host.Host
	log   *slog.Logger
	locks reducer.KeyLocks
}

// NewLocalEffects returns the LocalEffects of h; log receives failures to replace an
// answer (default slog.Default()).
func NewLocalEffects(h *host.Host, log *slog.Logger) *LocalEffects {
	if log == nil {
		log = slog.Default()
	}
	return &LocalEffects{h: h, log: log.With("component", "local-effects")}
}

// Run runs the effect request body for node at most once per operation id: exec, or the
// answer recorded for an earlier committed run (dedup true). It implements
// EffectRecorder. It blocks while another request with the same node and operation id
// runs, and answers 503 (retryable) when ctx ends first or the journal cannot be read.
func (l *LocalEffects) Run(ctx context.Context, node string, body []byte, exec func(context.Context) Response) (Response, bool) {
	var in struct {
		OperationID string `json:"operation_id"`
	}
	if json.Unmarshal(body, &in) != nil || in.OperationID == "" {
		return exec(ctx), false
	}
	op := in.OperationID
	unlock, err := l.locks.Lock(ctx, node+"\x00"+op)
	if err != nil {
		return unavailableResponse(fmt.Sprintf("operation %s: waiting for its earlier run: %v", op, err)), false
	}
	defer unlock()
	answer, _, found, err := l.h.EffectAnswer(node, op)
	switch {
	case errors.Is(err, host.ErrNoJournal):
		return exec(ctx), false
	case err != nil:
		return unavailableResponse(fmt.Sprintf("operation %s: reading its recorded answer, so the effect was not run: %v", op, err)), false
	case found:
		return Response{Status: http.StatusOK, Body: answer}, true
	}
	// The guard runs on the effect's goroutine, inside exec: txID is read after exec.
	var txID string
	guarded := effect.WithCommitGuard(ctx, func(_ context.Context, out abi.EffectOutput) error {
		staged := jsonResponse(http.StatusOK, effectResponse{EffectOutput: out})
		if staged.Status != http.StatusOK {
			return fmt.Errorf("server: encode the answer of operation %s", op)
		}
		if err := l.h.StageEffectAnswer(out.TransactionID, node, op, staged.Body); err != nil {
			return err
		}
		txID = out.TransactionID
		return nil
	})
	resp := exec(guarded)
	if resp.Status == http.StatusOK && txID != "" {
		if err := l.h.ReplaceEffectAnswer(txID, node, op, resp.Body); err != nil {
			l.log.Warn("recorded answer not replaced by the final reply; a repeat gets the staged one",
				"node", node, "operation_id", op, "error", err)
		}
	}
	return resp, false
}

// unavailableResponse is a 503 with the server's error shape, retryable.
func unavailableResponse(msg string) Response {
	return jsonResponse(http.StatusServiceUnavailable, apiError{Error: errorBody{Code: codeUnavailable, Message: msg, Retryable: true}})
}
