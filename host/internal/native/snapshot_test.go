package native

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"github.com/tetratelabs/wazero/api"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/cowmem"
	"github.com/onexhost/onex-host/host/internal/guest"
	"github.com/onexhost/onex-host/host/internal/meter"
	"github.com/onexhost/onex-host/host/internal/snapshot"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// hostModConfig is the module configuration host.New gives native guests.
func hostModConfig() wazero.ModuleConfig {
	return wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize").
		WithSysWalltime().WithSysNanotime().WithRandSource(rand.Reader)
}

// newRuntime returns a guarded runtime with WASI and the onex module, closed with tb.
func newRuntime(tb testing.TB) wazero.Runtime {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	tb.Cleanup(func() { _ = rt.Close(ctx) })
	_, err := wasi_snapshot_preview1.Instantiate(ctx, rt)
	require.NoError(tb, err)
	require.NoError(tb, DefineHostModule(ctx, rt))
	return rt
}

// newCode compiles wasm in rt for fakePlugin instances.
func newCode(tb testing.TB, rt wazero.Runtime, wasm []byte) *Code {
	compiled, err := rt.CompileModule(context.Background(), wasm)
	require.NoError(tb, err)
	return &Code{Plugin: fakePlugin{guest.Limits{InitTimeout: time.Minute, MaxInput: 1 << 20, MaxOutput: 1 << 20, MemoryPages: 16384}},
		Runtime: rt, Compiled: compiled, ModConfig: hostModConfig()}
}

// transcript runs the same script on a new instance of code, made in ctx: the manifest,
// then each computation (or "default") on a few inputs, twice (the second round sees the
// state the first left). It returns what each step returned, outputs and errors alike.
func transcript(t *testing.T, ctx context.Context, code *Code) []string {
	inst, err := code.NewInstance(ctx)
	if err != nil {
		return []string{"instantiate: " + failureText(err)}
	}
	defer inst.Close()
	if inst.alloc == nil { // Check refuses it at load
		return []string{"no onex_alloc"}
	}
	var out []string
	names := []string{"default"}
	m, err := inst.ReadManifest(ctx)
	out = append(out, fmt.Sprintf("manifest %+v %s", m, failureText(err)))
	if err == nil {
		for _, c := range append(m.Computations, m.Effects...) {
			names = append(names, c.Name)
		}
	}
	if inst.compute == nil {
		return append(out, "no onex_compute")
	}
	for round := range 2 {
		for _, name := range names {
			for _, in := range []string{`"hello"`, `{}`, `[1,2,3]`, `7`, ``} {
				if inst.Faulted() {
					return append(out, "faulted")
				}
				b, err := inst.Invoke(ctx, name, name, []byte(in), time.Time{}, nil)
				out = append(out, fmt.Sprintf("%d %s(%s) = %q %s", round, name, in, b, failureText(err)))
			}
		}
	}
	return out
}

// failureText is an error's kind and message, without the wrapped cause (a wazero stack
// trace differs between a module and its snapshot: the function offsets do).
func failureText(err error) string {
	var f *guest.Failure
	if errors.As(err, &f) {
		return fmt.Sprintf("%s %v %s", f.Op, f.Kind, guest.FirstLine(f.Message))
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// soak runs the differential test over every Go guest. Each costs three compilations
// that no cache can serve (the module, its capture copy, its snapshot), about 40 s each
// under the race detector, so `make test` runs one Go guest (goecho) and every WAT
// fixture; run `go test ./host/internal/native -run Differential -soak` (without -race:
// seconds per guest) after changing package snapshot.
var soak = flag.Bool("soak", false, "run the snapshot differential test over every Go guest")

// snapshotGuests are the Go guests the differential test runs with -soak: every plugin of
// the repository and every test guest whose calls end on their own (loop never returns,
// membomb grows memory to the limit, extismecho is an Extism plugin).
var snapshotGuests = []string{
	"plugins/core", "plugins/httpcall", "plugins/fileops",
	"plugins/testdata/goecho", "plugins/testdata/counter", "plugins/testdata/chatty",
	"plugins/testdata/crash", "plugins/testdata/panic", "plugins/testdata/bigoutput",
	"plugins/testdata/effects",
}

// watSkipped are the WAT fixtures whose calls do not end on their own, or are not native
// plugins at all; every other fixture is compared.
var watSkipped = map[string]bool{
	"loop.wasm": true, "sleep.wasm": true, "sleepeffect.wasm": true, "slowinit.wasm": true,
	"membomb.wasm": true, "extismloop.wasm": true, "extismsleep.wasm": true, "extismstart.wasm": true,
}

// TestSnapshot_Differential: a snapshot's instances answer exactly as the original
// module's do, for every guest above and every WAT fixture Take accepts.
func TestSnapshot_Differential(t *testing.T) {
	type guestWasm struct {
		name string
		wasm []byte
	}
	var all []guestWasm
	guests := []string{"plugins/testdata/goecho"}
	if *soak {
		guests = snapshotGuests
	}
	for _, dir := range guests {
		all = append(all, guestWasm{dir, plugintest.Bytes(t, dir)})
	}
	wats, err := filepath.Glob(filepath.Join(plugintest.Root(), "plugins", "testdata", "wat", "*.wasm"))
	require.NoError(t, err)
	require.NotEmpty(t, wats)
	for _, path := range wats {
		if watSkipped[filepath.Base(path)] {
			continue
		}
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		all = append(all, guestWasm{filepath.Base(path), b})
	}
	snapshots := 0
	for _, g := range all {
		t.Run(strings.ReplaceAll(g.name, "/", "_"), func(t *testing.T) {
			rt := newRuntime(t)
			if _, err := rt.CompileModule(context.Background(), g.wasm); err != nil {
				t.Skipf("not a valid module: %v", err)
			}
			// As the host takes it: on Linux without data segments, the image in a
			// copy-on-write memory (host/internal/cowmem).
			snapCode := newCode(t, rt, g.wasm)
			snap, mem, err := snapCode.Snapshot(context.Background(), g.wasm)
			if errors.Is(err, snapshot.ErrUnsupported) {
				t.Skipf("not snapshotted: %v", err)
			}
			if err != nil {
				// The module's own initialization fails: so must the original's.
				_, ierr := newCode(t, rt, g.wasm).NewInstance(context.Background())
				require.Error(t, ierr, "Take failed (%v) where the module instantiates", err)
				return
			}
			snapshots++
			defer snap.Close(context.Background())
			if mem != nil {
				defer mem.Close()
			}
			snapCode.UseSnapshot(snap, mem) // as the host does
			assert.Equal(t, cowmem.Supported(), mem != nil, "a snapshot with a memory uses cowmem where it can")
			ctx := context.Background()
			want := transcript(t, ctx, newCode(t, rt, g.wasm))
			// An instance made while a caller waits, then one made ahead of the calls
			// (its memory pre-faulted, once the image has learned its working set).
			assert.Equal(t, want, transcript(t, ctx, snapCode), "made on the call's path")
			assert.Equal(t, want, transcript(t, Ahead(ctx), snapCode), "made ahead")
			assert.Equal(t, uint64(2), snapCode.FromSnapshot(), "both instances came from the snapshot")
		})
	}
	assert.GreaterOrEqual(t, snapshots, len(guests), "every Go guest is snapshotted")
}

// TestSnapshot_NoInitialize: an instance of a snapshot does not run _initialize again,
// and its data is the image, not the module's segments.
func TestSnapshot_NoInitialize(t *testing.T) {
	rt := newRuntime(t)
	wasm := plugintest.Bytes(t, "plugins/testdata/goecho")
	snap, err := snapshot.Take(context.Background(), rt, wasm, hostModConfig())
	require.NoError(t, err)
	compiled, err := rt.CompileModule(context.Background(), snap)
	require.NoError(t, err)
	_, ok := compiled.ExportedFunctions()["_initialize"]
	assert.False(t, ok, "the snapshot exports no _initialize")
	_, ok = compiled.ExportedFunctions()[abi.ExportCompute]
	assert.True(t, ok)
}

// BenchmarkInstantiate measures creating one instance of goecho and of core (standard
// Go): "cold" is the host's way before snapshots (data segments applied, then
// _initialize), "bare" instantiation without any start function (the data segments and
// the zeroing alone), "snapshot" an instance of the pre-initialized module with its image
// in data segments, "snapshot-cow" one whose memory is a copy-on-write mapping of the
// image (the host's way on Linux). It also reports the resident memory an idle instance
// adds (RSS-KiB/instance: 16 instances kept open, /proc/self/statm before and after).
func BenchmarkInstantiate(b *testing.B) {
	for _, plugin := range []string{"goecho", "core"} {
		dir := "plugins/testdata/goecho"
		if plugin == "core" {
			dir = "plugins/core"
		}
		b.Run(plugin, func(b *testing.B) { benchmarkInstantiate(b, plugintest.Bytes(b, dir)) })
	}
}

func benchmarkInstantiate(b *testing.B, wasm []byte) {
	ctx := context.Background()
	rt := newRuntime(b)
	snap, err := snapshot.Take(ctx, rt, wasm, hostModConfig())
	require.NoError(b, err)
	orig, err := rt.CompileModule(ctx, wasm)
	require.NoError(b, err)
	pre, err := rt.CompileModule(ctx, snap)
	require.NoError(b, err)
	bare, image, err := snapshot.TakeWith(ctx, rt, wasm, hostModConfig(), snapshot.Options{Image: true})
	require.NoError(b, err)
	cow, err := rt.CompileModule(ctx, bare)
	require.NoError(b, err)
	mem, err := cowmem.New(image)
	require.NoError(b, err)
	defer mem.Close()
	for _, v := range []struct {
		name     string
		compiled wazero.CompiledModule
		cfg      wazero.ModuleConfig
		memory   experimental.MemoryAllocator
	}{
		{"cold", orig, hostModConfig(), nil},
		{"bare", orig, hostModConfig().WithStartFunctions(), nil},
		{"snapshot", pre, hostModConfig(), nil},
		{"snapshot-cow", cow, hostModConfig(), mem.Allocator()},
	} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			ictx := ctx
			if v.memory != nil {
				ictx = experimental.WithMemoryAllocator(ctx, v.memory)
			}
			for b.Loop() {
				mod, err := rt.InstantiateModule(ictx, v.compiled, v.cfg)
				if err != nil {
					b.Fatal(err)
				}
				_ = mod.Close(ctx)
			}
			b.StopTimer()
			const idle = 16
			debug.FreeOSMemory()
			before := residentKiB(b)
			mods := make([]api.Module, 0, idle)
			for range idle {
				mod, err := rt.InstantiateModule(ictx, v.compiled, v.cfg.WithName(""))
				require.NoError(b, err)
				mods = append(mods, mod)
			}
			debug.FreeOSMemory()
			b.ReportMetric(float64(residentKiB(b)-before)/idle, "RSS-KiB/instance")
			for _, mod := range mods {
				_ = mod.Close(ctx)
			}
		})
	}
}

// residentKiB is the process's resident set size in KiB, from /proc/self/statm.
func residentKiB(tb testing.TB) int64 {
	tb.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		tb.Skipf("no /proc/self/statm: %v", err)
	}
	var size, resident int64
	_, err = fmt.Sscan(string(b), &size, &resident)
	require.NoError(tb, err)
	return resident * int64(os.Getpagesize()) / 1024
}

// TestSnapshot_MonotonicClock: an instance of a snapshot never reads the monotonic clock
// earlier than the initialization the snapshot captured did.
func TestSnapshot_MonotonicClock(t *testing.T) {
	rt := newRuntime(t)
	wasm, err := os.ReadFile(filepath.Join(plugintest.Root(), "plugins", "testdata", "wat", "clockinit.wasm"))
	require.NoError(t, err)
	snap, err := snapshot.Take(context.Background(), rt, wasm, hostModConfig())
	require.NoError(t, err)
	inst, err := newCode(t, rt, snap).NewInstance(context.Background())
	require.NoError(t, err)
	defer inst.Close()
	out, err := inst.Invoke(context.Background(), "default", "default", nil, time.Time{}, nil)
	require.NoError(t, err)
	assert.Equal(t, "1", string(out))
}

// TestSnapshot_MeteredIsDeterministic: the snapshot of a metered module is the same bytes
// every time — the fuel counter, whose value after _initialize varies with the Go
// runtime's randomised map iteration, starts at its declared 0 — so that every process
// finds the snapshot's compilation in the on-disk cache instead of adding its own.
func TestSnapshot_MeteredIsDeterministic(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t)
	metered, _, err := meter.Instrument(plugintest.Bytes(t, "plugins/testdata/goecho"), meter.Options{})
	require.NoError(t, err)
	opt := snapshot.Options{Image: true, Volatile: []string{meter.DefaultGlobal}}
	first, _, err := snapshot.TakeWith(ctx, rt, metered, hostModConfig(), opt)
	require.NoError(t, err)
	again, _, err := snapshot.TakeWith(ctx, rt, metered, hostModConfig(), opt)
	require.NoError(t, err)
	require.True(t, bytes.Equal(first, again), "a second snapshot of the same module differs")
}
