package host_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// stall is a slog.Handler that holds the record whose message is msg until release is
// closed, and hands every other record to rec. It is a log sink that stopped draining (a
// full pipe, a stalled shipper): a guest that logs through it blocks inside a host
// function that ignores the call's context, so its call, metered or not, reaches no fuel
// check and cannot be stopped at its deadline.
type stall struct {
	msg     string
	rec     slog.Handler
	arrived chan struct{} // one send per held record
	release chan struct{}
	once    *sync.Once
}

func newStall(msg string, rec *recorder) *stall {
	return &stall{msg: msg, rec: rec, arrived: make(chan struct{}, 1), release: make(chan struct{}), once: &sync.Once{}}
}

// open releases the held records, and every later one; it may be called more than once.
func (s *stall) open() { s.once.Do(func() { close(s.release) }) }

func (s *stall) Enabled(context.Context, slog.Level) bool { return true }

func (s *stall) Handle(ctx context.Context, r slog.Record) error {
	if r.Message != s.msg {
		return s.rec.Handle(ctx, r)
	}
	s.arrived <- struct{}{}
	<-s.release
	return nil
}

func (s *stall) WithAttrs(as []slog.Attr) slog.Handler {
	c := *s
	c.rec = s.rec.WithAttrs(as)
	return &c
}

func (s *stall) WithGroup(string) slog.Handler { return s }

// TestHost_StuckCalls holds a call inside a host function (the guest's log line, through
// a stalled logger) past its deadline, in fake time: a call that ends within
// Config.StuckGrace of its deadline is not reported; one that is still running then is
// reported once, its plugin quarantined (new calls fail at once with ErrQuarantined),
// and when it ends after all the record says so and the quarantine stays.
func TestHost_StuckCalls(t *testing.T) {
	const timeout, grace = time.Second, 5 * time.Second
	echo := plugintest.Fixture(t, "wat/echo.wasm")
	extismLog, err := os.ReadFile(extismPath(t, "log.wasm")) // TinyGo, Extism's go-sdk fixture
	require.NoError(t, err)
	tests := []struct {
		name      string
		wasm      []byte
		cfg       host.PluginConfig
		exec      host.Execution
		op        string // logs msg once
		msg       string
		grace     time.Duration // Config.StuckGrace
		release   time.Duration // after the deadline
		wantStuck bool
	}{
		{name: "metered, ends within the grace", wasm: echo, exec: host.ExecutionMetered, op: "length",
			msg: "echo: computing length", grace: grace, release: grace - time.Nanosecond},
		{name: "metered, stuck", wasm: echo, exec: host.ExecutionMetered, op: "length",
			msg: "echo: computing length", grace: grace, release: time.Hour, wantStuck: true},
		{name: "guarded, stuck", wasm: echo, cfg: host.PluginConfig{Execution: host.ExecutionGuarded},
			exec: host.ExecutionGuarded, op: "length", msg: "echo: computing length", grace: grace,
			release: time.Hour, wantStuck: true},
		{name: "extism, stuck", wasm: extismLog, exec: host.ExecutionMetered, op: "run_test",
			msg: "this is an info log", grace: grace, release: time.Hour, wantStuck: true},
		{name: "check off", wasm: echo, exec: host.ExecutionMetered, op: "length",
			msg: "echo: computing length", grace: -1, release: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wasm := tt.wasm
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				rec := &recorder{}
				s := newStall(tt.msg, rec)
				h, err := host.New(ctx, host.NewConfig().WithCacheDir(cacheDir).WithDataDir("").
					WithTimeout(timeout).WithStuckGrace(tt.grace).WithLogger(slog.New(s)))
				require.NoError(t, err)
				defer h.Close(ctx)
				defer s.open() // first: a failed test must not leave Close waiting for the call
				p, err := h.Load(ctx, wasm, tt.cfg)
				require.NoError(t, err)
				require.Equal(t, tt.exec, p.Execution())

				done := make(chan error, 1)
				go func() {
					_, err := p.Call(ctx, tt.op, nil)
					done <- err
				}()
				<-s.arrived // the call is in the host function: time stands still until all wait
				deadline := time.Now().Add(timeout)

				time.Sleep(timeout + tt.grace - time.Nanosecond)
				synctest.Wait()
				assert.False(t, p.Quarantined())
				assert.Empty(t, h.StuckCalls())
				if tt.release > tt.grace {
					time.Sleep(time.Nanosecond) // the grace is over
					synctest.Wait()
				}

				if !tt.wantStuck {
					s.open()
					<-done
					time.Sleep(time.Hour)
					synctest.Wait()
					assert.False(t, p.Quarantined())
					assert.Empty(t, h.StuckCalls())
					assert.Empty(t, rec.FindPrefix("call stuck"))
					_, err := p.Call(ctx, tt.op, nil)
					assert.NotErrorIs(t, err, host.ErrQuarantined)
					return
				}

				// Reported once, with the plugin, the operation and how long.
				require.True(t, p.Quarantined())
				want := host.StuckCall{Plugin: p.Name(), Digest: p.Digest(), Operation: tt.op, Deadline: deadline}
				assert.Equal(t, []host.StuckCall{want}, h.StuckCalls())
				reports := rec.FindPrefix("call stuck")
				require.Len(t, reports, 1)
				assert.Equal(t, slog.LevelError, reports[0].Level)
				assert.Equal(t, p.Name(), reports[0].Attrs["plugin"])
				assert.Equal(t, p.Name(), reports[0].Attrs["node"])
				assert.Equal(t, tt.op, reports[0].Attrs["operation"])
				assert.Equal(t, grace.String(), reports[0].Attrs["overdue"])

				// No new call reaches the plugin: it fails at once, in no time at all.
				start := time.Now()
				_, err = p.Call(ctx, tt.op, nil)
				require.ErrorIs(t, err, host.ErrQuarantined)
				pe, ok := errors.AsType[*host.PluginError](err)
				require.True(t, ok)
				assert.Equal(t, p.Name(), pe.Plugin)
				assert.False(t, pe.Retryable)
				assert.Equal(t, start, time.Now())

				// Still stuck an hour later: nothing more is logged.
				time.Sleep(time.Hour)
				synctest.Wait()
				assert.Len(t, rec.FindPrefix("call stuck"), 1)

				// It ends after all: recorded, and the quarantine stays.
				s.open()
				<-done
				want.Ended = time.Now()
				assert.Equal(t, []host.StuckCall{want}, h.StuckCalls())
				ended := rec.FindPrefix("stuck call ended after all")
				require.Len(t, ended, 1)
				assert.Equal(t, slog.LevelWarn, ended[0].Level)
				assert.True(t, p.Quarantined())
				_, err = p.Call(ctx, tt.op, nil)
				require.ErrorIs(t, err, host.ErrQuarantined)

				// Loading the plugin again lifts it; the record stays.
				q, err := h.Load(ctx, wasm, tt.cfg)
				require.NoError(t, err)
				assert.False(t, q.Quarantined())
				assert.Len(t, h.StuckCalls(), 1)
			})
		})
	}
}
