package host_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/effect"
)

// Deadlines hold inside host calls too (issue 15). Every guest below would run for at
// least 5 s — one 5 s WASI sleep, sleeps forever, a spin, host calls forever, an HTTP
// request to a server that answers after 5 s — and must be stopped at a 100 ms deadline,
// or when its caller cancels, long before: the bound checked is 2.5 s, half the shortest
// sleep, so that no machine is too slow for the test and no old behaviour passes it.
const (
	stopTimeout = 100 * time.Millisecond
	stopBound   = 2500 * time.Millisecond
)

// slowServer answers every request after 5 s, or gives up when the client does.
func slowServer(tb testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// blockingCase is one guest that blocks: how to load it and how to call it once.
type blockingCase struct {
	name string
	// call loads the guest with cfg (a timeout, an execution mode, one instance) in h and
	// returns a function that runs it once under ctx.
	call func(t *testing.T, h *host.Host, cfg host.PluginConfig) func(ctx context.Context) error
}

// blockingCases are every kind of guest that would outlive its deadline: native compute
// (sleep.wasm), native effect through an effect.Node (sleepeffect.wasm, and
// effectproxy.wasm's http.request for a capability that waits), and Extism
// (extismsleep.wasm).
func blockingCases(t *testing.T) []blockingCase {
	slow := slowServer(t)
	compute := func(fixture, computation string, data []byte) func(*testing.T, *host.Host, host.PluginConfig) func(context.Context) error {
		return func(t *testing.T, h *host.Host, cfg host.PluginConfig) func(context.Context) error {
			cfg.Grants.Hosts = []string{"127.0.0.1"}
			p := loadFixture(t, h, fixture, cfg)
			return func(ctx context.Context) error {
				_, err := p.Call(ctx, computation, data)
				return err
			}
		}
	}
	effectCase := func(fixture, name string, data []byte) func(*testing.T, *host.Host, host.PluginConfig) func(context.Context) error {
		return func(t *testing.T, h *host.Host, cfg host.PluginConfig) func(context.Context) error {
			cfg.Grants = proxyGrants(t.TempDir())
			p := loadFixture(t, h, fixture, cfg)
			n, err := effect.New(p, effect.Config{Retry: effect.RetryPolicy{MaxRetries: -1}})
			require.NoError(t, err)
			return func(ctx context.Context) error {
				_, err := n.Process(ctx, abi.EffectInput{EffectType: name, OperationData: data})
				return err
			}
		}
	}
	httpReq, err := json.Marshal(abi.HTTPRequest{Method: "GET", URL: slow.URL})
	require.NoError(t, err)
	extismReq, err := json.Marshal(map[string]string{"url": slow.URL, "method": "GET"})
	require.NoError(t, err)
	return []blockingCase{
		{"native/sleep", compute("wat/sleep.wasm", "sleep", nil)},
		{"native/sleeploop", compute("wat/sleep.wasm", "sleeploop", nil)},
		{"native/spin", compute("wat/sleep.wasm", "spin", nil)},
		{"native/logloop", compute("wat/sleep.wasm", "logloop", nil)},
		{"effect/sleep", effectCase("wat/sleepeffect.wasm", "sleep", nil)},
		{"effect/sleeploop", effectCase("wat/sleepeffect.wasm", "sleeploop", nil)},
		{"effect/callloop", effectCase("wat/sleepeffect.wasm", "callloop", nil)},
		{"effect/http.request", effectCase("wat/effectproxy.wasm", abi.OpHTTPRequest, httpReq)},
		{"extism/sleep", compute("wat/extismsleep.wasm", "sleep", nil)},
		{"extism/sleeploop", compute("wat/extismsleep.wasm", "sleeploop", nil)},
		{"extism/callloop", compute("wat/extismsleep.wasm", "callloop", nil)},
		{"extism/http_request", compute("wat/extismsleep.wasm", "http", extismReq)},
	}
}

// TestPlugin_CallStopsBlockedGuests: a guest that sleeps, spins or waits in a host
// function is stopped at the call's deadline and when its caller cancels, metered and
// guarded, native, effect and Extism alike, with the timeout (or canceled) error, and its
// instance is discarded.
func TestPlugin_CallStopsBlockedGuests(t *testing.T) {
	for _, tc := range blockingCases(t) {
		for _, exec := range []host.Execution{host.ExecutionMetered, host.ExecutionGuarded} {
			t.Run(tc.name+"/"+string(exec), func(t *testing.T) {
				h, _ := newHost(t, host.NewConfig().WithDataDir(""))
				call := tc.call(t, h, host.PluginConfig{Timeout: stopTimeout, Execution: exec, MaxInstances: 1})
				start := time.Now()
				err := call(context.Background())
				elapsed := time.Since(start)
				require.ErrorIs(t, err, host.ErrTimeout)
				assert.Less(t, elapsed, stopBound, "stopped at the 100 ms deadline, not after the guest's 5 s")

				// With a timeout far away, only the caller's cancel can end the call.
				call = tc.call(t, h, host.PluginConfig{Timeout: time.Minute, Execution: exec, MaxInstances: 1})
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(stopTimeout, cancel)
				start = time.Now()
				err = call(ctx)
				elapsed = time.Since(start)
				cancel()
				require.ErrorIs(t, err, host.ErrCanceled)
				assert.Less(t, elapsed, stopBound, "stopped when the caller canceled")
			})
		}
	}
}

// TestEffectNode_ProcessBoundsEveryAttempt: each attempt of a retried effect whose guest
// sleeps ends at the attempt's deadline, so the effect takes its attempts' timeouts and
// delays, not its sleeps (before: 4 attempts of 5 s each).
func TestEffectNode_ProcessBoundsEveryAttempt(t *testing.T) {
	for _, exec := range []host.Execution{host.ExecutionMetered, host.ExecutionGuarded} {
		t.Run(string(exec), func(t *testing.T) {
			h, _ := newHost(t, host.NewConfig().WithDataDir(""))
			p := loadFixture(t, h, "wat/sleepeffect.wasm",
				host.PluginConfig{Timeout: stopTimeout, Execution: exec, Grants: host.Grants{KV: true}})
			n, err := effect.New(p, effect.Config{
				Retry: effect.RetryPolicy{MaxRetries: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}})
			require.NoError(t, err)
			start := time.Now()
			out, err := n.Process(context.Background(), abi.EffectInput{EffectType: "sleeploop"})
			elapsed := time.Since(start)
			require.ErrorIs(t, err, host.ErrTimeout)
			assert.Equal(t, 3, out.RetryCount, "every attempt timed out and was retried")
			assert.Equal(t, abi.TransactionRolledBack, out.TransactionState)
			assert.Less(t, elapsed, stopBound, "4 attempts of 100 ms, not of 5 s")
			assert.Equal(t, uint64(4), p.Stats().Discarded)
		})
	}
}

// TestHost_CloseDuringSleepingCall: closing the host while a guest sleeps returns
// promptly. An effect is canceled at the close's deadline (its sleep ends with it); a
// compute call runs to its own deadline, which its sleep no longer outlives.
func TestHost_CloseDuringSleepingCall(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fixture string
		exec    host.Execution
		effect  bool
	}{
		{"effect/metered", "wat/sleepeffect.wasm", host.ExecutionMetered, true},
		{"effect/guarded", "wat/sleepeffect.wasm", host.ExecutionGuarded, true},
		{"native/metered", "wat/sleep.wasm", host.ExecutionMetered, false},
		{"native/guarded", "wat/sleep.wasm", host.ExecutionGuarded, false},
		{"extism/metered", "wat/extismsleep.wasm", host.ExecutionMetered, false},
		{"extism/guarded", "wat/extismsleep.wasm", host.ExecutionGuarded, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := newHost(t, host.NewConfig().WithDataDir(""))
			cfg := host.PluginConfig{Execution: tc.exec, Grants: host.Grants{KV: true}}
			if !tc.effect {
				// A compute call is waited for, to its deadline.
				cfg.Timeout = 300 * time.Millisecond
			}
			p := loadFixture(t, h, tc.fixture, cfg)
			var call func() error
			if tc.effect {
				n, err := effect.New(p, effect.Config{})
				require.NoError(t, err)
				call = func() error {
					_, err := n.Process(context.Background(), abi.EffectInput{EffectType: "sleeploop"})
					return err
				}
			} else {
				call = func() error {
					_, err := p.Call(context.Background(), "sleeploop", nil)
					return err
				}
			}
			done := make(chan error, 1)
			go func() { done <- call() }()
			require.Eventually(t, func() bool { return p.Stats().InUse == 1 }, 10*time.Second, time.Millisecond)

			start := time.Now()
			if tc.effect {
				// The close's deadline passes with the effect still running: it is
				// canceled and its transaction rolled back.
				ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
				err := h.Close(ctx)
				cancel()
				require.ErrorIs(t, err, context.DeadlineExceeded)
				require.ErrorIs(t, <-done, host.ErrCanceled)
			} else {
				require.NoError(t, h.Close(context.Background()))
				require.ErrorIs(t, <-done, host.ErrTimeout)
			}
			assert.Less(t, time.Since(start), stopBound, "the close did not wait for the 5 s sleep")
			assert.Zero(t, h.TransactionStats().Open)
		})
	}
}
