package host_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
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
	n := scriptNode(t, h, dir, host.EffectConfig{})
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
