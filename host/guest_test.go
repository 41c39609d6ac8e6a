package host_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/compute"
)

// Tests with standard-Go guests built with the sdk.

var soak = flag.Bool("soak", false, "run the long soak tests")

func TestComputeNode_Process(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	node, err := compute.New(loadGo(t, h, "plugins/core", host.PluginConfig{}))
	require.NoError(t, err)
	ctx := context.Background()
	tests := []struct {
		name        string
		computation string
		data        string
		want        string
		err         error
	}{
		{name: "default is identity", computation: "", data: `{"a":[1,2]}`, want: `{"a":[1,2]}`},
		{name: "missing data is null", computation: "default", data: ``, want: `null`},
		{name: "sum_numbers", computation: "sum_numbers", data: `[1,2,3,4,5]`, want: `15`},
		{name: "string_uppercase", computation: "string_uppercase", data: `"abc"`, want: `"ABC"`},
		{name: "sha256", computation: "sha256", data: `"abc"`, want: `"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"`},
		{name: "stats", computation: "stats", data: `[2,4,4,4,5,5,7,9]`,
			want: `{"count":8,"sum":40,"min":2,"max":9,"mean":5,"median":4.5,"stddev":2,"p90":7.6,"p99":8.86}`},
		{name: "unknown computation", computation: "nope", data: `1`, err: host.ErrUnknownComputation},
		{name: "data not JSON", computation: "default", data: `{`, err: host.ErrInvalidInput},
		{name: "guest rejects the input type", computation: "sum_numbers", data: `"x"`, err: host.ErrInvalidInput},
		{name: "handler error", computation: "stats", data: `[]`, err: host.ErrFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := node.Process(ctx, abi.ComputeInput{ComputationType: tt.computation, Data: json.RawMessage(tt.data),
				OperationID: "op-" + tt.name, Metadata: map[string]any{"k": "v"}})
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(out.Result))
			assert.Equal(t, "op-"+tt.name, out.OperationID)
			assert.Equal(t, map[string]any{"k": "v"}, out.Metadata)
			assert.Greater(t, out.ProcessingTimeMS, 0.0)
			assert.False(t, out.CacheHit)
		})
	}

	out, err := node.Process(ctx, abi.ComputeInput{ComputationType: "sum_numbers", Data: json.RawMessage(`[1]`)})
	require.NoError(t, err)
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, out.OperationID, "a fresh UUID v4")

	var pe *host.PluginError
	_, err = node.Process(ctx, abi.ComputeInput{ComputationType: "stats", Data: json.RawMessage(`[]`)})
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, abi.StatusError, pe.Status)
	assert.Equal(t, "invalid_input", pe.Code)
	assert.Equal(t, uint64(0), node.Plugin().Stats().Discarded, "guest errors keep their instance")
}

// TestPlugin_CallHostileGo runs the standard-Go hostile fixtures: each gives its typed
// error, no faulted instance is reused, and the host keeps serving.
func TestPlugin_CallHostileGo(t *testing.T) {
	tests := []struct {
		name        string
		dir         string
		computation string
		data        string
		cfg         host.PluginConfig
		want        error
		discarded   bool
		message     string
	}{
		{name: "handler panic", dir: "plugins/testdata/panic", computation: "boom", want: host.ErrPanic, message: "boom"},
		{name: "guest runtime crash", dir: "plugins/testdata/crash", computation: "crash", want: host.ErrTrap, discarded: true, message: "panic:"},
		{name: "runaway loop", dir: "plugins/testdata/loop", computation: "spin", cfg: host.PluginConfig{Timeout: 300 * time.Millisecond},
			want: host.ErrTimeout, discarded: true, message: "300ms"},
		{name: "memory bomb", dir: "plugins/testdata/membomb", computation: "grow", cfg: host.PluginConfig{MemoryLimit: 64 << 20},
			want: host.ErrMemoryLimit, discarded: true, message: "out of memory"},
		{name: "oversized output", dir: "plugins/testdata/bigoutput", computation: "big", data: strconv.Itoa(1 << 20),
			want: host.ErrOutputTooLarge, message: "1048578 bytes exceeds the 1048576-byte limit"},
	}
	h, _ := newHost(t, host.NewConfig().WithMaxOutputBytes(1<<20))
	core := loadGo(t, h, "plugins/core", host.PluginConfig{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := loadGo(t, h, tt.dir, tt.cfg)
			defer p.Close(context.Background())
			data := tt.data
			if data == "" {
				data = "null"
			}
			for i := range 2 {
				// The error proves the guest was stopped (a runaway loop never returns on
				// its own), so no bound on the elapsed time: that would depend on load.
				_, err := p.Call(context.Background(), tt.computation, []byte(data))
				require.ErrorIs(t, err, tt.want)
				assert.Contains(t, err.Error(), tt.message)
				if tt.discarded {
					assert.Equal(t, uint64(i+1), p.Stats().Discarded, "the faulted instance is discarded")
				} else {
					assert.Equal(t, uint64(0), p.Stats().Discarded, "a reported error keeps the instance")
				}
				out, err := core.Call(context.Background(), "sum_numbers", []byte(`[40,2]`))
				require.NoError(t, err, "the host keeps serving")
				assert.Equal(t, "42", string(out))
			}
		})
	}
}

func TestPlugin_CallBigOutputWithinLimit(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	p := loadGo(t, h, "plugins/testdata/bigoutput", host.PluginConfig{})
	out, err := p.Call(context.Background(), "big", []byte(strconv.Itoa(512<<10)))
	require.NoError(t, err)
	assert.Len(t, out, 512<<10+2, "a JSON string of 512 KiB x's")
}

func TestPlugin_GuestLogsAndOutput(t *testing.T) {
	h, rec := newHost(t, host.NewConfig())
	p := loadGo(t, h, "plugins/testdata/chatty", host.PluginConfig{})
	out, err := p.Call(context.Background(), "talk", []byte(`null`))
	require.NoError(t, err)
	assert.Equal(t, `"ok"`, string(out))

	logs := rec.Find("hello from chatty plugin=chatty")
	require.Len(t, logs, 2)
	assert.Equal(t, []any{"chatty", "chatty"}, []any{logs[0].Attrs["plugin"], logs[1].Attrs["plugin"]})
	assert.ElementsMatch(t, []string{"INFO", "WARN"}, []string{logs[0].Level.String(), logs[1].Level.String()})

	stdout := rec.Find("to stdout")
	require.Len(t, stdout, 1)
	assert.Equal(t, "stdout", stdout[0].Attrs["stream"])
	stderr := rec.Find("to stderr")
	require.Len(t, stderr, 1)
	assert.Equal(t, "stderr", stderr[0].Attrs["stream"])
	assert.Equal(t, "chatty", stderr[0].Attrs["plugin"])
}

// TestPlugin_Sandbox: a guest sees no environment, no arguments and no files.
func TestPlugin_Sandbox(t *testing.T) {
	t.Setenv("ONEX_HOST_SECRET", "must not leak")
	h, _ := newHost(t, host.NewConfig())
	p := loadGo(t, h, "plugins/testdata/chatty", host.PluginConfig{})
	out, err := p.Call(context.Background(), "sandbox", []byte(`null`))
	require.NoError(t, err)
	var got struct {
		Env     []string `json:"env"`
		Args    []string `json:"args"`
		ReadErr string   `json:"read_error"`
		DirErr  string   `json:"dir_error"`
	}
	require.NoError(t, json.Unmarshal(out, &got))
	assert.Empty(t, got.Env, "no environment variables")
	assert.Empty(t, got.Args, "no arguments")
	assert.NotEmpty(t, got.ReadErr, "/etc/passwd cannot be read")
	assert.NotEmpty(t, got.DirErr, "/ cannot be listed")
}

// TestPlugin_Hammer: 64 goroutines × 2000 calls on one plugin, every result checked; the
// pool's owner check (a panic on concurrent use) and exact counters prove isolation.
func TestPlugin_Hammer(t *testing.T) {
	const goroutines, calls = 64, 2000
	h, _ := newHost(t, host.NewConfig().WithMaxInstances(8))
	p := loadGo(t, h, "plugins/core", host.PluginConfig{})
	var ok atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				a, b := g, i
				out, err := p.Call(context.Background(), "sum_numbers", fmt.Appendf(nil, "[%d,%d]", a, b))
				if !assert.NoError(t, err) || !assert.Equal(t, strconv.Itoa(a+b), string(out)) {
					return
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(goroutines*calls), ok.Load())
	s := p.Stats()
	assert.Equal(t, uint64(goroutines*calls+1), s.Acquired, "one acquisition per call, plus the load's")
	assert.Equal(t, uint64(0), s.Discarded)
	assert.LessOrEqual(t, s.Created, uint64(8))
	assert.Equal(t, 0, s.InUse)
	assert.Equal(t, 0, s.Waiting)
	assert.Equal(t, s.Live, s.Idle)
}

// TestPlugin_HammerMixed interleaves good calls with guest traps from many goroutines:
// counters stay exact, and no faulted instance ever serves another call.
func TestPlugin_HammerMixed(t *testing.T) {
	const goroutines, calls = 16, 40
	h, _ := newHost(t, host.NewConfig().WithMaxInstances(4))
	p := loadGo(t, h, "plugins/testdata/crash", host.PluginConfig{})
	var good, crashed atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				if (g+i)%4 == 0 {
					_, err := p.Call(context.Background(), "crash", nil)
					if assert.ErrorIs(t, err, host.ErrTrap) {
						crashed.Add(1)
					}
					continue
				}
				out, err := p.Call(context.Background(), "echo", []byte(strconv.Itoa(i)))
				if assert.NoError(t, err) && assert.Equal(t, strconv.Itoa(i), string(out)) {
					good.Add(1)
				}
			}
		})
	}
	wg.Wait()
	s := p.Stats()
	assert.Equal(t, int64(goroutines*calls/4), crashed.Load())
	assert.Equal(t, int64(goroutines*calls*3/4), good.Load())
	assert.Equal(t, uint64(crashed.Load()), s.Discarded, "exactly the crashed instances were discarded")
	assert.Equal(t, s.Created, s.Discarded+uint64(s.Live))
}

// TestPlugin_MemorySoak proves a standard-Go guest that allocates on every call keeps
// its memory flat, because the sdk yields to the guest's scheduler (and so its GC) after
// every call. Without the yield this guest runs out of memory within a few thousand calls.
func TestPlugin_MemorySoak(t *testing.T) {
	// Against a 64 MiB limit, a guest whose GC never ran would trap within ~1,000 calls
	// of 64 KiB, or ~30 calls of 2 MiB. -soak runs the long version.
	tests := []struct {
		name  string
		size  int
		calls int
	}{
		{name: "64 KiB per call", size: 64 << 10, calls: 1500},
		{name: "2 MiB per call", size: 2 << 20, calls: 60},
	}
	h, _ := newHost(t, host.NewConfig().WithMaxInstances(1).WithMemoryLimit(64<<20))
	p := loadGo(t, h, "plugins/testdata/chatty", host.PluginConfig{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := tt.calls
			if *soak {
				calls *= 20
			}
			input := []byte(strconv.Itoa(tt.size))
			for i := range calls {
				out, err := p.Call(context.Background(), "alloc", input)
				require.NoError(t, err, "call %d", i)
				require.Equal(t, string(input), string(out))
			}
		})
	}
	s := p.Stats()
	assert.Equal(t, uint64(1), s.Created, "one instance served every call")
	assert.Equal(t, uint64(0), s.Discarded)
}

// TestPlugin_Close waits for calls in flight, then refuses new ones.
func TestPlugin_Close(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	p := loadGo(t, h, "plugins/testdata/loop", host.PluginConfig{Timeout: 500 * time.Millisecond})
	started := make(chan struct{})
	done := make(chan error)
	go func() {
		close(started)
		_, err := p.Call(context.Background(), "spin", nil)
		done <- err
	}()
	<-started
	time.Sleep(50 * time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, p.Close(ctx), context.DeadlineExceeded, "a call is still running")

	require.NoError(t, p.Close(context.Background()), "waits for the call in flight")
	require.ErrorIs(t, <-done, host.ErrTimeout)
	_, err := p.Call(context.Background(), "spin", nil)
	require.ErrorIs(t, err, host.ErrClosed)
	assert.Equal(t, 0, p.Stats().Live, "every instance destroyed")
	assert.True(t, strings.Contains(err.Error(), "closed"))
}
