package host_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/effect"
	"github.com/onexhost/onex-host/host/internal/journal"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// holdServer is an HTTP server whose handler reports each request on arrived and answers only
// once release is closed: an effect calling it is held at a known point.
func holdServer(tb testing.TB) (url string, arrived <-chan struct{}, release func()) {
	tb.Helper()
	in, out := make(chan struct{}, 16), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in <- struct{}{}
		select {
		case <-out:
		case <-r.Context().Done():
		}
		_, _ = w.Write([]byte("ok"))
	}))
	var released bool
	rel := func() {
		if !released {
			released = true
			close(out)
		}
	}
	tb.Cleanup(func() { rel(); srv.Close() })
	return srv.URL, in, rel
}

// Recover finishes what a crash of an earlier process left; the transactions of effects
// running in this process are not its business, whenever it is called.
func TestHost_RecoverLeavesLiveEffects(t *testing.T) {
	h, _ := newHost(t, host.NewConfig().WithDataDir(t.TempDir()))
	dir := t.TempDir()
	n := scriptNode(t, h, dir, effect.Config{})
	url, arrived, release := holdServer(t)

	type answer struct {
		out abi.EffectOutput
		err error
	}
	done := make(chan answer, 1)
	go func() {
		out, _, err := runScript(t, n, script{Steps: []step{
			{Op: abi.OpKVPut, Key: "live", Value: "v"},
			{Op: abi.OpHTTPRequest, Method: http.MethodGet, URL: url},
		}})
		done <- answer{out, err}
	}()
	<-arrived // the key is written, the transaction is open

	r, err := h.Recover(context.Background())
	require.NoError(t, err)
	assert.Zero(t, r.RolledBack, "nothing was left by a crash")
	assert.Zero(t, r.Failed)

	release()
	a := <-done
	require.NoError(t, a.err)
	require.Equal(t, abi.TransactionCommitted, a.out.TransactionState)
	_, res, err := runScript(t, n, script{Steps: []step{{Op: abi.OpKVGet, Key: "live"}}})
	require.NoError(t, err)
	assert.Equal(t, "v", res.Got["live"], "a committed effect's write stands")
}

// failedRollback writes in dataDir/journal.db a transaction of node that put k1, k2 and
// k3 (in namespace service, none existing before but k2, which held "old2") and whose
// rollback compensated k1 and k3 but failed on k2. It returns the transaction id.
func failedRollback(t *testing.T, dataDir, node, service string) string {
	t.Helper()
	j, err := journal.Open(filepath.Join(dataDir, "journal.db"), journal.Options{})
	require.NoError(t, err)
	defer func() { require.NoError(t, j.Close()) }()
	m, err := tx.New(tx.Config{Observer: j, Compensators: map[string]tx.Compensator{
		tx.KindKVPut: tx.CompensatorFunc(func(_ context.Context, op tx.Operation) error {
			if op.Target == "k2" {
				return errors.New("the store is unavailable")
			}
			return nil
		})}})
	require.NoError(t, err)
	tr, err := m.Begin(node, 1, "op-1")
	require.NoError(t, err)
	for _, k := range []string{"k1", "k2", "k3"} {
		c := &tx.Compensation{}
		if k == "k2" {
			c = &tx.Compensation{Existed: true, Previous: []byte("old2")}
		}
		require.NoError(t, tr.Record(tx.Operation{Kind: tx.KindKVPut, Service: service, Target: k, Compensation: c}))
	}
	res, err := tr.Rollback(context.Background())
	require.Error(t, err)
	require.Equal(t, tx.StateFailed, res.State)
	return tr.ID()
}

// journal retry runs again only the compensations that failed: an operation already
// compensated is not undone a second time over what was committed since.
func TestHost_RetryRollbackReplaysOnlyWhatFailed(t *testing.T) {
	dataDir, dir := t.TempDir(), t.TempDir()
	// A first host learns the script node's kv namespace from its journal.
	h1, err := host.New(context.Background(), host.NewConfig().WithDataDir(dataDir).WithCacheDir(t.TempDir()))
	require.NoError(t, err)
	_, _, err = runScript(t, scriptNode(t, h1, dir, effect.Config{}), script{Steps: []step{{Op: abi.OpKVPut, Key: "probe", Value: "x"}}})
	require.NoError(t, err)
	recs, err := h1.JournalRecords(host.JournalFilter{})
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	require.NotEmpty(t, recs[0].Snapshot.Operations)
	node, service := recs[0].Snapshot.Node, recs[0].Snapshot.Operations[0].Service
	require.NoError(t, h1.Close(context.Background()))

	id := failedRollback(t, dataDir, node, service)

	h, _ := newHost(t, host.NewConfig().WithDataDir(dataDir))
	n := scriptNode(t, h, dir, effect.Config{})
	// k1 and k3 were restored (absent) and have been written since; k2 still holds the
	// failed transaction's value.
	_, _, err = runScript(t, n, script{Steps: []step{
		{Op: abi.OpKVPut, Key: "k1", Value: "later1"},
		{Op: abi.OpKVPut, Key: "k2", Value: "new2"},
		{Op: abi.OpKVPut, Key: "k3", Value: "later3"},
	}})
	require.NoError(t, err)

	rec, err := h.RetryRollback(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, tx.StateRolledBack, rec.Snapshot.State)
	outcomes := map[string]tx.Outcome{}
	for _, op := range rec.Rollback {
		outcomes[op.Target] = op.Outcome
	}
	assert.Equal(t, map[string]tx.Outcome{"k1": tx.OutcomeCompensated, "k2": tx.OutcomeCompensated, "k3": tx.OutcomeCompensated}, outcomes)
	_, res, err := runScript(t, n, script{Steps: []step{{Op: abi.OpKVGet, Key: "k1"}, {Op: abi.OpKVGet, Key: "k2"}, {Op: abi.OpKVGet, Key: "k3"}}})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"k1": "later1", "k2": "old2", "k3": "later3"}, res.Got,
		"only k2's compensation ran again")

	_, err = h.RetryRollback(context.Background(), id)
	require.Error(t, err, "a rolled-back transaction has nothing left to retry")
}

// journal retry refuses a transaction that is not final: it may be running.
func TestHost_RetryRollbackRefusesOpenTransactions(t *testing.T) {
	h, _ := newHost(t, host.NewConfig().WithDataDir(t.TempDir()))
	n := scriptNode(t, h, t.TempDir(), effect.Config{})
	url, arrived, release := holdServer(t)
	done := make(chan error, 1)
	go func() {
		_, _, err := runScript(t, n, script{Steps: []step{
			{Op: abi.OpKVPut, Key: "live", Value: "v"},
			{Op: abi.OpHTTPRequest, Method: http.MethodGet, URL: url},
		}})
		done <- err
	}()
	<-arrived
	recs, err := h.JournalRecords(host.JournalFilter{States: []string{"active"}})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	_, err = h.RetryRollback(context.Background(), recs[0].Snapshot.ID)
	require.ErrorIs(t, err, host.ErrTransactionOpen)
	release()
	require.NoError(t, <-done)
}
