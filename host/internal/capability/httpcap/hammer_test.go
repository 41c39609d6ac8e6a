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

// TestClient_Hammer shares one Client between 32 goroutines that send
// granted and ungranted requests and roll back transactions, and checks
// every count exactly.
func TestClient_Hammer(t *testing.T) {
	const (
		goroutines = 32
		perG       = 120
		denyEvery  = 4  // every 4th request goes to an ungranted host
		txEvery    = 10 // every 10th is a POST in a transaction that rolls back
	)
	var posts, deletes atomic.Int64
	api := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			posts.Add(1)
			w.WriteHeader(http.StatusCreated)
		case http.MethodDelete:
			deletes.Add(1)
			w.WriteHeader(http.StatusNoContent)
		default:
			_, _ = w.Write([]byte("ok"))
		}
	})
	evil := newServer(t, nil)
	c := newClient(t, []string{"api.example.com"}, Config{}, map[string]*server{"api.example.com": api, "evil.example.org": evil})
	m, err := tx.New(tx.Config{Compensators: map[string]tx.Compensator{tx.KindHTTPRequest: NewCompensator(c)}})
	require.NoError(t, err)

	var denied, ok, rolledBack atomic.Int64
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				switch {
				case i%denyEvery == 1:
					_, err := c.Do(ctx, abi.HTTPRequest{URL: "http://evil.example.org/x"})
					if !errors.Is(err, ErrDenied) {
						errs <- err
						return
					}
					denied.Add(1)
				case i%txEvery == 0:
					x, err := m.Begin("hammer", g, "")
					if err == nil {
						_, err = c.DoTx(ctx, x, abi.HTTPRequest{Method: "POST", URL: "http://api.example.com/items",
							Compensate: &abi.HTTPCompensation{Method: "DELETE", URL: "http://api.example.com/items/1"}})
					}
					if err == nil {
						_, err = x.Rollback(ctx)
					}
					if err != nil {
						errs <- err
						return
					}
					rolledBack.Add(1)
				default:
					resp, err := c.Do(ctx, abi.HTTPRequest{URL: "http://api.example.com/x"})
					if err != nil || string(resp.Body) != "ok" {
						errs <- errors.Join(err, errors.New("bad body "+string(resp.Body)))
						return
					}
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	total := int64(goroutines * perG)
	assert.Equal(t, total, denied.Load()+ok.Load()+rolledBack.Load())
	assert.Equal(t, ok.Load()+2*rolledBack.Load(), api.hits.Load(), "every granted request and compensation arrived exactly once")
	assert.Equal(t, rolledBack.Load(), posts.Load())
	assert.Equal(t, rolledBack.Load(), deletes.Load())
	assert.Zero(t, evil.hits.Load())
	st := m.Stats()
	assert.Equal(t, uint64(rolledBack.Load()), st.RolledBack)
	assert.Zero(t, st.Failed)
	assert.Zero(t, st.Open)
}
