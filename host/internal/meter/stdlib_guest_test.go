package meter

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// stdlibQuantum is what the benchmark's refill adds to the counter: host.FuelQuantum.
const stdlibQuantum = 1 << 20

// countInstructions is the instruction-counting seam (stdlib.count): the module in exact
// mode (see rewrite), whose fuel is the number of Wasm instructions it executed.
func countInstructions(wasm []byte) ([]byte, error) {
	out, _, err := rewrite(wasm, Options{}, true)
	return out, err
}

// mode is how a guest runs: plain, instrumented, or through stdlib.count (untimed).
type mode int

const (
	modePlain mode = iota
	modeMetered
	modeCounted
)

// stdlib builds standard-library test binaries and runs them plain, metered or counted,
// for BenchmarkStdlib. Not safe for concurrent use: sub-benchmarks run one at a time.
type stdlib struct {
	dir    string // the binaries
	goroot string // mounted read-only at /, for the packages' testdata
	// plain has WASI only; metered has WASI and the refill, which counts in refill.
	plain, metered wazero.Runtime
	refill         refillCount
	count          func(wasm []byte) ([]byte, error) // if not nil, see countInstructions
}

// refillCount is the state of the metered runtime's refill during one run.
type refillCount struct {
	mod     api.Module
	fuel    api.MutableGlobal
	refills int64
}

// guest is one package's test binary, compiled for each mode.
type guest struct {
	pkg                     stdlibPackage
	plain, metered, counted wazero.CompiledModule
}

// sample is what one run of a guest measured.
type sample struct {
	wall, cpu    time.Duration // cpu is 0 without a thread clock
	nsPerOp      map[string]float64
	refills      int64
	fuel         int64 // charged: refills × quantum − what is left
	instructions int64 // counted runs only
}

// guestTime is the run's CPU time in ns, or its wall time without a thread clock.
func (s sample) guestTime() float64 {
	if s.cpu > 0 {
		return float64(s.cpu)
	}
	return float64(s.wall)
}

// newStdlib returns the harness with its two runtimes, closed when b ends. count is the
// instruction-counting seam; nil: no counting.
func newStdlib(b *testing.B, count func([]byte) ([]byte, error)) *stdlib {
	b.Helper()
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		b.Skipf("stdlib benchmark needs the go command: %v", err)
	}
	ctx := context.Background()
	s := &stdlib{dir: b.TempDir(), goroot: strings.TrimSpace(string(goroot)), count: count}
	for _, r := range []*wazero.Runtime{&s.plain, &s.metered} {
		*r = wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
		rt := *r
		b.Cleanup(func() { _ = rt.Close(ctx) })
		wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	}
	_, err = s.metered.NewHostModuleBuilder(DefaultImportModule).NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(s.refillFuel), nil, nil).Export(DefaultImportName).
		Instantiate(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// refillFuel is the metered runtime's "onex"."fuel": it adds stdlibQuantum to the
// caller's counter and counts the refill.
func (s *stdlib) refillFuel(_ context.Context, mod api.Module, _ []uint64) {
	c := &s.refill
	if c.mod != mod {
		c.mod, c.fuel = mod, mod.ExportedGlobal(DefaultGlobal).(api.MutableGlobal)
	}
	c.refills++
	c.fuel.Set(uint64(int64(c.fuel.Get()) + stdlibQuantum))
}

// guest builds p's test binary and compiles it for each mode, with b's timer stopped. It
// skips b when the build fails.
func (s *stdlib) guest(b *testing.B, p stdlibPackage) *guest {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	plain, err := buildStdlibTest(s.dir, p.pkg)
	if err != nil {
		b.Skip(err)
	}
	ctx := context.Background()
	g := &guest{pkg: p}
	compile := func(r wazero.Runtime, wasm []byte) wazero.CompiledModule {
		c, err := r.CompileModule(ctx, wasm)
		if err != nil {
			b.Fatalf("compile %s: %v", p.pkg, err)
		}
		b.Cleanup(func() { _ = c.Close(ctx) })
		return c
	}
	g.plain = compile(s.plain, plain)
	metered, _, err := Instrument(plain, Options{})
	if err != nil {
		b.Fatalf("instrument %s: %v", p.pkg, err)
	}
	g.metered = compile(s.metered, metered)
	if s.count != nil {
		counted, err := s.count(plain)
		if err != nil {
			b.Fatalf("count %s: %v", p.pkg, err)
		}
		g.counted = compile(s.metered, counted)
	}
	return g
}

// buildStdlibTest builds pkg's test binary for wasip1 into dir and returns it. The error
// says what failed, with the go command's output.
func buildStdlibTest(dir, pkg string) ([]byte, error) {
	out := filepath.Join(dir, strings.ReplaceAll(pkg, "/", "_")+".test.wasm")
	if wasm, err := os.ReadFile(out); err == nil {
		return wasm, nil
	}
	cmd := exec.Command("go", "test", "-c", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("skipped: GOOS=wasip1 GOARCH=wasm go test -c %s failed: %v\n%s", pkg, err, msg)
	}
	return os.ReadFile(out)
}

// run runs g once in mode m and returns what it measured. The guest's current directory
// is its package's source directory (PWD), with GOROOT/src mounted read-only at /.
func (s *stdlib) run(b *testing.B, g *guest, m mode) sample {
	b.Helper()
	ctx := context.Background()
	r, cm := s.plain, g.plain
	switch m {
	case modeMetered:
		r, cm = s.metered, g.metered
	case modeCounted:
		r, cm = s.metered, g.counted
	}
	var stdout bytes.Buffer
	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions().
		WithArgs(g.pkg.pkg+".test", "-test.run=^$", "-test.bench="+g.pkg.bench,
			"-test.benchtime="+strconv.Itoa(g.pkg.n)+"x").
		WithEnv("PWD", "/"+g.pkg.pkg).
		WithFSConfig(wazero.NewFSConfig().WithReadOnlyDirMount(filepath.Join(s.goroot, "src"), "/")).
		WithStdout(&stdout).WithStderr(&stdout).WithSysWalltime()
	if _, ok := threadCPU(); ok {
		// The guest's monotonic clock, which its testing package times benchmarks with, is
		// this thread's CPU time: on a busy machine, wall time can be 2–3× CPU time, and
		// varies as much from run to run. A read costs a system call (≈ 1.4 µs in these
		// VMs against ≈ 60 ns for wall time), in both modes: sort's runs read it ≈ 30,000
		// times (StartTimer/StopTimer around every op). Sleeps (none of these benchmarks
		// sleep) return at once, so a guest waiting for a timer spins until it has used
		// that much CPU.
		cfg = cfg.WithNanotime(func() int64 {
			t, _ := threadCPU()
			return int64(t)
		}, 1)
	} else {
		cfg = cfg.WithSysNanotime().WithSysNanosleep()
	}
	mod, err := r.InstantiateModule(ctx, cm, cfg)
	if err != nil {
		b.Fatalf("instantiate %s: %v", g.pkg.pkg, err)
	}
	defer mod.Close(ctx)
	s.refill = refillCount{}
	fuel := mod.ExportedGlobal(DefaultGlobal) // nil when plain
	start := mod.ExportedFunction("_start")

	// Collect the host's garbage first (compiling leaves a lot): wazero allocates as the
	// guest grows its memory, and the assists of a collection already running would be
	// charged to whichever run comes first.
	runtime.GC()
	runtime.LockOSThread()
	cpu0, clock := threadCPU()
	t0 := time.Now()
	_, err = start.Call(ctx)
	wall := time.Since(t0)
	cpu1, _ := threadCPU()
	runtime.UnlockOSThread()

	if ee := (*sys.ExitError)(nil); err != nil && (!errors.As(err, &ee) || ee.ExitCode() != 0) {
		b.Fatalf("%s: %v\n%s", g.pkg.pkg, err, stdout.Bytes())
	}
	res := sample{wall: wall, nsPerOp: parseBench(stdout.Bytes())}
	if clock {
		res.cpu = cpu1 - cpu0
	}
	if len(res.nsPerOp) == 0 {
		b.Fatalf("%s printed no benchmark result:\n%s", g.pkg.pkg, stdout.Bytes())
	}
	switch m {
	case modeMetered:
		res.refills = s.refill.refills
		res.fuel = s.refill.refills*stdlibQuantum - int64(fuel.Get())
	case modeCounted:
		res.instructions = s.refill.refills*stdlibQuantum - int64(fuel.Get())
	}
	return res
}

// parseBench returns the ns/op of each benchmark in a test binary's output, read from
// the testing package's result lines: name, iterations, ns/op.
func parseBench(out []byte) map[string]float64 {
	benchLine := regexp.MustCompile(`^(Benchmark\S+)\s+\d+\s+([0-9.e+]+) ns/op`)
	res := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := benchLine.FindSubmatch(sc.Bytes()); m != nil {
			if ns, err := strconv.ParseFloat(string(m[2]), 64); err == nil {
				res[string(m[1])] = ns
			}
		}
	}
	return res
}
