package httpcap

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// itemsAPI is a tiny REST service: POST /items creates item 1, DELETE
// /items/1 removes it (404 when absent), GET reads it, /fail answers 500 and /missing 404.
type itemsAPI struct {
	exists         atomic.Bool
	posts, deletes atomic.Int64
}

func (a *itemsAPI) handle(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/fail":
		w.WriteHeader(http.StatusInternalServerError)
	case r.URL.Path == "/missing":
		w.WriteHeader(http.StatusNotFound)
	case r.Method == http.MethodPost && r.URL.Path == "/items":
		a.posts.Add(1)
		a.exists.Store(true)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":1}`))
	case r.Method == http.MethodDelete && r.URL.Path == "/items/1":
		a.deletes.Add(1)
		if !a.exists.Swap(false) {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		_, _ = w.Write([]byte("item"))
	}
}

// opsSeen wraps a Compensator and keeps the operations it was given.
type opsSeen struct {
	next tx.Compensator
	mu   sync.Mutex
	ops  []tx.Operation
}

func (o *opsSeen) Compensate(ctx context.Context, op tx.Operation) error {
	o.mu.Lock()
	o.ops = append(o.ops, op)
	o.mu.Unlock()
	return o.next.Compensate(ctx, op)
}

type txEnv struct {
	pair
	items *itemsAPI
	seen  *opsSeen
	m     *tx.Manager
}

func newTxEnv(t testing.TB) txEnv {
	t.Helper()
	items := &itemsAPI{}
	p := newPair(t, Config{}, items.handle)
	seen := &opsSeen{next: NewCompensator(p.c)}
	m, err := tx.New(tx.Config{Compensators: map[string]tx.Compensator{tx.KindHTTPRequest: seen}})
	require.NoError(t, err)
	return txEnv{pair: p, items: items, seen: seen, m: m}
}

func (e txEnv) begin(t testing.TB) *tx.Tx {
	t.Helper()
	x, err := e.m.Begin("http_node", 1, "")
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = x.Rollback(context.Background()) })
	return x
}

var createItem = abi.HTTPRequest{
	Method:  "POST",
	URL:     "http://api.example.com/items?token=secret",
	Body:    []byte(`{"name":"a"}`),
	Headers: map[string][]string{"Content-Type": {"application/json"}},
	Compensate: &abi.HTTPCompensation{
		Method:  "DELETE",
		URL:     "http://api.example.com/items/1",
		Headers: map[string][]string{"X-Reason": {"rollback"}},
	},
}

func TestClient_DoTx_RollbackCompensates(t *testing.T) {
	e := newTxEnv(t)
	ctx := context.Background()
	x := e.begin(t)

	resp, err := e.c.DoTx(ctx, x, createItem)
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.Status)
	assert.Equal(t, tx.StateActive, x.State())

	res, err := x.Rollback(ctx)
	require.NoError(t, err)
	assert.Equal(t, tx.StateRolledBack, res.State)
	assert.Equal(t, 1, res.SideEffectsApplied)
	require.Len(t, res.RollbackOperations, 1)
	op := res.RollbackOperations[0]
	assert.Equal(t, tx.OutcomeCompensated, op.Outcome)
	assert.Equal(t, tx.KindHTTPRequest, op.Kind)
	assert.Equal(t, "http:api.example.com", op.Service)
	assert.Equal(t, "http://api.example.com/items", op.Target, "the target drops the query")

	_, err = x.Rollback(ctx) // a second rollback does nothing
	require.NoError(t, err)
	assert.Equal(t, int64(1), e.items.posts.Load())
	assert.Equal(t, int64(1), e.items.deletes.Load(), "the compensating DELETE is sent exactly once")
	assert.False(t, e.items.exists.Load())

	require.Len(t, e.seen.ops, 1)
	c := e.seen.ops[0].Compensation.Request
	assert.Equal(t, "DELETE", c.Method)
	assert.Equal(t, "http://api.example.com/items/1", c.URL)
	assert.Equal(t, []string{"rollback"}, c.Header["X-Reason"])
	assert.JSONEq(t, `{"method":"POST"}`, string(e.seen.ops[0].Detail))
}

func TestClient_DoTx_Irreversible(t *testing.T) {
	e := newTxEnv(t)
	ctx := context.Background()
	x := e.begin(t)
	req := createItem
	req.Compensate = nil

	_, err := e.c.DoTx(ctx, x, req)
	require.NoError(t, err)
	res, err := x.Rollback(ctx)
	require.NoError(t, err, "an irreversible operation alone does not fail the rollback")
	assert.Equal(t, tx.StateRolledBack, res.State)
	require.Len(t, res.RollbackOperations, 1)
	assert.Equal(t, tx.OutcomeIrreversible, res.RollbackOperations[0].Outcome)
	assert.Zero(t, e.items.deletes.Load())
	assert.Empty(t, e.seen.ops)
	assert.True(t, e.items.exists.Load(), "nothing undid the request")
}

func TestClient_DoTx_SafeNotRecorded(t *testing.T) {
	e := newTxEnv(t)
	ctx := context.Background()
	for _, m := range []string{"", "GET", "head", "OPTIONS"} {
		t.Run("method "+m, func(t *testing.T) {
			x := e.begin(t)
			resp, err := e.c.DoTx(ctx, x, abi.HTTPRequest{Method: m, URL: "http://api.example.com/items/1"})
			require.NoError(t, err)
			assert.Equal(t, 200, resp.Status)
			assert.Equal(t, tx.StatePending, x.State())
			res, err := x.Commit(ctx)
			require.NoError(t, err)
			assert.Zero(t, res.SideEffectsApplied)
		})
	}

	t.Run("GET with a compensation is recorded", func(t *testing.T) {
		x := e.begin(t)
		req := createItem
		req.Method = "GET"
		_, err := e.c.DoTx(ctx, x, req)
		require.NoError(t, err)
		res, err := x.Rollback(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, res.SideEffectsApplied)
		assert.Equal(t, tx.OutcomeCompensated, res.RollbackOperations[0].Outcome)
	})
}

func TestClient_DoTx_FailedRequestStaysRecorded(t *testing.T) {
	e := newTxEnv(t)
	ctx := context.Background()
	x := e.begin(t)
	req := createItem
	req.URL = "http://api.example.com/fail"

	_, err := e.c.DoTx(ctx, x, req)
	require.ErrorIs(t, err, ErrStatus)
	res, err := x.Rollback(ctx)
	require.NoError(t, err, "a DELETE answered 404 counts as compensated")
	assert.Equal(t, tx.OutcomeCompensated, res.RollbackOperations[0].Outcome)
	assert.Equal(t, int64(1), e.items.deletes.Load())
}

func TestClient_DoTx_Refused(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		mutate  func(r *abi.HTTPRequest)
		wantErr error
	}{
		{name: "compensation to an ungranted host", mutate: func(r *abi.HTTPRequest) {
			r.Compensate = &abi.HTTPCompensation{Method: "DELETE", URL: "http://evil.example.org/items/1"}
		}, wantErr: ErrDenied},
		{name: "compensation without method", mutate: func(r *abi.HTTPRequest) {
			r.Compensate = &abi.HTTPCompensation{URL: "http://api.example.com/items/1"}
		}, wantErr: ErrInvalidRequest},
		{name: "compensation with a bad URL", mutate: func(r *abi.HTTPRequest) {
			r.Compensate = &abi.HTTPCompensation{Method: "DELETE", URL: "file:///items/1"}
		}, wantErr: ErrInvalidRequest},
		{name: "request to an ungranted host", mutate: func(r *abi.HTTPRequest) {
			r.URL = "http://evil.example.org/items"
		}, wantErr: ErrDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTxEnv(t)
			x := e.begin(t)
			req := createItem
			tt.mutate(&req)
			_, err := e.c.DoTx(ctx, x, req)
			require.ErrorIs(t, err, tt.wantErr)
			assert.Equal(t, tx.StatePending, x.State(), "nothing recorded")
			assert.Zero(t, e.api.hits.Load(), "nothing sent")
			assert.Zero(t, e.evil.hits.Load())
		})
	}

	t.Run("transaction rolled back", func(t *testing.T) {
		e := newTxEnv(t)
		x := e.begin(t)
		_, err := x.Rollback(ctx)
		require.NoError(t, err)
		_, err = e.c.DoTx(ctx, x, createItem)
		require.ErrorIs(t, err, tx.ErrRolledBack)
		assert.Zero(t, e.api.hits.Load(), "nothing sent")
	})
}

func TestClient_DoTx_NilTx(t *testing.T) {
	e := newTxEnv(t)
	resp, err := e.c.DoTx(context.Background(), nil, createItem)
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.Status)
	assert.Equal(t, int64(1), e.items.posts.Load())
}

func TestCompensator_Compensate(t *testing.T) {
	ctx := context.Background()
	op := func(method, url string) tx.Operation {
		return tx.Operation{Seq: 1, Kind: tx.KindHTTPRequest, Target: "http://api.example.com/items",
			Compensation: &tx.Compensation{Request: &tx.Request{Method: method, URL: url}}}
	}

	t.Run("twice is harmless for an idempotent compensation", func(t *testing.T) {
		e := newTxEnv(t)
		e.items.exists.Store(true)
		k := NewCompensator(e.c)
		require.NoError(t, k.Compensate(ctx, op("DELETE", "http://api.example.com/items/1")))
		require.NoError(t, k.Compensate(ctx, op("DELETE", "http://api.example.com/items/1")), "404 on the replay counts as done")
		assert.Equal(t, int64(2), e.items.deletes.Load())
		assert.False(t, e.items.exists.Load())
	})

	tests := []struct {
		name    string
		op      tx.Operation
		wantErr error
	}{
		{name: "ungranted host", op: op("DELETE", "http://evil.example.org/items/1"), wantErr: ErrDenied},
		{name: "wrong kind", op: tx.Operation{Kind: tx.KindKVPut, Compensation: &tx.Compensation{}}, wantErr: ErrInvalidRequest},
		{name: "no request", op: tx.Operation{Kind: tx.KindHTTPRequest, Compensation: &tx.Compensation{}}, wantErr: ErrInvalidRequest},
		{name: "server fails", op: op("POST", "http://api.example.com/fail"), wantErr: ErrStatus},
		{name: "404 fails a compensation that is not a DELETE", op: op("PUT", "http://api.example.com/missing"), wantErr: ErrStatus},
		{name: "404 is done for a DELETE", op: op("DELETE", "http://api.example.com/missing")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTxEnv(t)
			err := NewCompensator(e.c).Compensate(ctx, tt.op)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			assert.Zero(t, e.evil.hits.Load())
		})
	}

	t.Run("a failed compensation fails the rollback", func(t *testing.T) {
		e := newTxEnv(t)
		x := e.begin(t)
		req := createItem
		req.Compensate = &abi.HTTPCompensation{Method: "POST", URL: "http://api.example.com/fail"}
		_, err := e.c.DoTx(ctx, x, req)
		require.NoError(t, err)
		res, err := x.Rollback(ctx)
		assert.Equal(t, tx.StateFailed, res.State)
		var ce *tx.CompensationError
		require.True(t, errors.As(err, &ce))
		assert.ErrorIs(t, ce, ErrStatus)
		assert.Equal(t, tx.OutcomeFailed, res.RollbackOperations[0].Outcome)
	})
}
