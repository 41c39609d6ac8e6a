package cluster_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/internal/journal"
	"github.com/onexhost/onex-host/host/internal/tx"
	"github.com/onexhost/onex-host/host/server"
)

// fakeJournal is a host journal holding transactions in the given states.
type fakeJournal map[string]tx.State

func (j fakeJournal) JournalRecord(id string) (host.JournalRecord, error) {
	s, ok := j[id]
	if !ok {
		return host.JournalRecord{}, fmt.Errorf("fake: %s: %w", id, journal.ErrNotFound)
	}
	return host.JournalRecord{Snapshot: tx.Snapshot{ID: id, State: s}}, nil
}

// recordKey is the bucket key of an operation id of node, as EffectRecords documents it.
func recordKey(node, opID string) string {
	sum := sha256.Sum256([]byte(opID))
	return node + "." + hex.EncodeToString(sum[:20])
}

// runOnce sends the effect request of opID through r; ran reports whether exec ran.
func runOnce(ctx context.Context, r *cluster.EffectRecords, opID string) (resp server.Response, dedup, ran bool) {
	body := fmt.Sprintf(`{"operation_id":%q}`, opID)
	resp, dedup = r.Run(ctx, "n", []byte(body), func(context.Context) server.Response {
		ran = true
		return server.Response{Status: http.StatusOK, Body: []byte(`{"ran":"again"}`)}
	})
	return resp, dedup, ran
}

// TestEffectRecords_ReconcileSettlesWhatACrashLeft writes the records a crash of host "a"
// can leave (each step of the commit order interrupted), checks that repeats are never
// answered 200 from an unfinished record, reconciles them against a's journal, and checks
// that each operation id then answers as its journal says.
func TestEffectRecords_ReconcileSettlesWhatACrashLeft(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	nc, err := e.Connect("a")
	require.NoError(t, err)
	defer nc.Close()
	ctx := patientContext(t)
	const lease = time.Second
	a, err := cluster.NewEffectRecords(ctx, nc, cluster.EffectRecordsConfig{HostID: "a", Lease: lease, Logger: quiet})
	require.NoError(t, err)
	defer a.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	kv, err := js.KeyValue(ctx, "onex_effects")
	require.NoError(t, err)

	output := `{"operation_id":"x","transaction_state":"committed","result":1}`
	cases := []struct {
		name, host, state, tx string
		journal               tx.State // zero: not in the journal
		// after reconciling: the answer of a repeat
		done, runs, stays bool
	}{
		{name: "committed after the commit record", host: "a", state: "committing", tx: "t1", journal: tx.StateCommitted, done: true},
		{name: "rolled back after the commit record", host: "a", state: "committing", tx: "t2", journal: tx.StateRolledBack, runs: true},
		{name: "rollback failed after the commit record", host: "a", state: "committing", tx: "t3", journal: tx.StateFailed, runs: true},
		{name: "nothing journaled", host: "a", state: "committing", tx: "t4", runs: true},
		{name: "killed while running", host: "a", state: "running", runs: true},
		{name: "another host's commit in doubt", host: "b", state: "committing", tx: "t5", stays: true},
		{name: "still open in the journal", host: "a", state: "committing", tx: "t6", journal: tx.StateActive, stays: true},
	}
	jr := fakeJournal{}
	for i, c := range cases {
		rec := map[string]any{"state": c.state, "host": c.host, "run": fmt.Sprintf("run-%d", i), "tx_id": c.tx}
		if c.state == "committing" {
			rec["status"], rec["body"] = 200, json.RawMessage(output)
		}
		v, err := json.Marshal(rec)
		require.NoError(t, err)
		_, err = kv.Put(ctx, recordKey("n", c.name), v)
		require.NoError(t, err)
		if c.journal != 0 {
			jr[c.tx] = c.journal
		}
	}

	// Before reconciling: no unfinished record answers 200, and none runs again.
	for _, c := range cases {
		rctx, rcancel := context.WithTimeout(ctx, 2*lease)
		resp, dedup, ran := runOnce(rctx, a, c.name)
		rcancel()
		assert.Equal(t, http.StatusServiceUnavailable, resp.Status, "%s: %s", c.name, resp.Body)
		assert.False(t, dedup || ran, c.name)
	}

	got, err := a.Reconcile(ctx, jr)
	require.NoError(t, err)
	assert.Equal(t, cluster.Reconciled{Finalised: 1, Deleted: 4, Left: 1}, got)

	for _, c := range cases {
		rctx, rcancel := context.WithTimeout(ctx, 2*lease)
		resp, dedup, ran := runOnce(rctx, a, c.name)
		rcancel()
		switch {
		case c.done:
			assert.True(t, dedup, c.name)
			assert.Equal(t, http.StatusOK, resp.Status, c.name)
			assert.JSONEq(t, output, string(resp.Body), c.name)
		case c.runs:
			assert.True(t, ran, c.name)
			assert.JSONEq(t, `{"ran":"again"}`, string(resp.Body), c.name)
		case c.stays:
			assert.False(t, ran || dedup, c.name)
			assert.Equal(t, http.StatusServiceUnavailable, resp.Status, c.name)
		}
	}
}

// TestEffectRecords_LeaseOutlivesTheEffect runs an effect three leases long on host a and
// repeats its operation id on host b meanwhile: b never runs it, a commits it, and the
// repeat is then answered with a's output.
func TestEffectRecords_LeaseOutlivesTheEffect(t *testing.T) {
	t.Parallel()
	const lease = time.Second
	e := embedded(t)
	a := newMember(t, "a", func() (*nats.Conn, error) { return e.Connect("a") }, memberOptions{lease: lease, nodes: onlyEffects})
	b := newMember(t, "b", func() (*nats.Conn, error) { return e.Connect("b") }, memberOptions{lease: lease, nodes: onlyEffects})
	in := abi.EffectInput{EffectType: "script", OperationID: "long", TimeoutMS: (10 * lease).Milliseconds(),
		OperationData: fmt.Appendf(nil, `{"steps":[{"op":"kv.put","key":"k","value":"v"},{"op":"sleep","sleep_ms":%d}]}`,
			(3 * lease).Milliseconds())}
	body, err := json.Marshal(in)
	require.NoError(t, err)
	run := func(ctx context.Context, m *member) (server.Response, bool) {
		return m.records.Run(ctx, "effects", body, func(ctx context.Context) server.Response {
			return m.srv.Invoke(ctx, "effects", server.OperationEffect, body)
		})
	}
	first := make(chan server.Response, 1)
	go func() {
		resp, _ := run(context.Background(), a)
		first <- resp
	}()
	eventually(t, func() bool { return a.host.TransactionStats().Open == 1 })

	var repeats atomic.Int32
	var resp server.Response
	for done := false; !done; {
		select {
		case resp = <-first:
			done = true
		default:
			ctx, cancel := context.WithTimeout(context.Background(), lease/2)
			r, dedup := run(ctx, b)
			cancel()
			repeats.Add(1)
			if !dedup {
				assert.Equal(t, http.StatusServiceUnavailable, r.Status, "%s", r.Body)
			}
		}
	}
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	assert.Zero(t, b.host.TransactionStats().Committed, "b never ran it")
	assert.Zero(t, b.host.TransactionStats().Open, "b never ran it")
	assert.Equal(t, uint64(1), a.host.TransactionStats().Committed)
	assert.GreaterOrEqual(t, repeats.Load(), int32(4), "repeats were sent past the lease")

	r, dedup := run(context.Background(), b)
	assert.True(t, dedup)
	assert.Equal(t, http.StatusOK, r.Status)
	assert.JSONEq(t, string(resp.Body), string(r.Body))
}

// flakyNATS answers the effect subject of node with a retryable 503 fails times,
// then with 200; it counts the requests.
func flakyNATS(t *testing.T, nc *nats.Conn, node string, fails int32) *atomic.Int32 {
	t.Helper()
	var n atomic.Int32
	sub, err := nc.Subscribe(cluster.Subject(node, server.OperationEffect), func(m *nats.Msg) {
		reply := nats.NewMsg(m.Reply)
		if n.Add(1) <= fails {
			reply.Header.Set(cluster.HeaderStatus, "503")
			reply.Data = []byte(`{"error":{"code":"unavailable","message":"nats: no response from stream","retryable":true}}`)
		} else {
			reply.Header.Set(cluster.HeaderStatus, "200")
			reply.Data = []byte(`{"operation_id":"op","transaction_state":"committed"}`)
		}
		_ = m.RespondMsg(reply)
	})
	require.NoError(t, err)
	require.NoError(t, nc.Flush())
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return &n
}

// TestClient_RetriesUntilTheDeadline: answers that say "retry" are retried until the
// caller's deadline, not a fixed number of times; Attempts caps them when set.
func TestClient_RetriesUntilTheDeadline(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	server, err := e.Connect("server")
	require.NoError(t, err)
	defer server.Close()
	nc, err := e.Connect("client")
	require.NoError(t, err)
	defer nc.Close()
	tests := []struct {
		name     string
		attempts int
		fails    int32
		ok       bool
	}{
		{name: "until the deadline", fails: 12, ok: true},
		{name: "capped", attempts: 3, fails: 12},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := fmt.Sprintf("n%d", i)
			sent := flakyNATS(t, server, node, tt.fails)
			c := cluster.NewClient(nc, cluster.ClientConfig{Attempts: tt.attempts, AttemptTimeout: patience(t) / 4,
				Backoff: time.Millisecond})
			ctx := patientContext(t)
			out, err := c.Effect(ctx, node, abi.EffectInput{OperationID: "op"})
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, abi.TransactionCommitted, out.TransactionState)
				assert.Equal(t, tt.fails+1, sent.Load())
				return
			}
			var re *cluster.RemoteError
			require.ErrorAs(t, err, &re)
			assert.True(t, re.Retryable)
			assert.Equal(t, int32(tt.attempts), sent.Load())
		})
	}
}

// TestClient_TellsTheHostToAnswerFirst: the deadline a Client sends (HeaderTimeout) is
// shorter than its own wait by the reply margin (a fifth, at most 1 s), so that a host's
// answer at its deadline reaches the caller instead of the caller giving up first.
func TestClient_TellsTheHostToAnswerFirst(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	srv, err := e.Connect("server")
	require.NoError(t, err)
	defer srv.Close()
	nc, err := e.Connect("client")
	require.NoError(t, err)
	defer nc.Close()
	for _, tt := range []struct {
		wait     time.Duration
		atMostMs int64
	}{
		{wait: 2 * time.Second, atMostMs: 1600}, // a fifth
		{wait: time.Minute, atMostMs: 59_000},   // at most 1 s
	} {
		told := make(chan int64, 1)
		node := fmt.Sprintf("margin%d", tt.wait.Milliseconds())
		sub, err := srv.Subscribe(cluster.Subject(node, server.OperationEffect), func(m *nats.Msg) {
			ms, _ := strconv.ParseInt(m.Header.Get(cluster.HeaderTimeout), 10, 64)
			told <- ms
			reply := nats.NewMsg(m.Reply)
			reply.Header.Set(cluster.HeaderStatus, "503")
			reply.Data = []byte(`{"error":{"code":"unavailable","message":"operation op is still running on host b","retryable":true}}`)
			_ = m.RespondMsg(reply)
		})
		require.NoError(t, err)
		require.NoError(t, srv.Flush())
		c := cluster.NewClient(nc, cluster.ClientConfig{Attempts: 1, AttemptTimeout: tt.wait})
		_, err = c.Effect(context.Background(), node, abi.EffectInput{OperationID: "op"})
		var re *cluster.RemoteError
		require.ErrorAs(t, err, &re, "the host's 503 is the answer")
		assert.Equal(t, http.StatusServiceUnavailable, re.Status)
		ms := <-told
		assert.Positive(t, ms)
		assert.LessOrEqual(t, ms, tt.atMostMs, "wait %v", tt.wait)
		assert.Greater(t, ms, tt.atMostMs-tt.wait.Milliseconds()/2, "the host still gets most of the time")
		require.NoError(t, sub.Unsubscribe())
	}
}
