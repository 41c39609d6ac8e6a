package meter

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
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
const stdlibQuantum = 1 << 17

// countGlobal is the contract of the instruction-counting seam (stdlib.count): the module
// it returns exports the number of Wasm instructions it has executed as this mutable i64
// global, and imports nothing beyond WASI and the meter's refill.
const countGlobal = "onex_instructions"

// stdlibPackage is a standard-library package whose test binary BenchmarkStdlib runs: the
// benchmarks matching bench, each for exactly n iterations (-test.benchtime=<n>x), so that
// every run, plain or metered, does the same work. A subset and n are picked so that one
// run takes about 1–2 s of plain wazero time.
type stdlibPackage struct {
	pkg   string
	bench string
	n     int
}

// stdlibPackages returns the packages of BenchmarkStdlib, in the order they run.
func stdlibPackages() []stdlibPackage {
	return []stdlibPackage{
		{"strconv", "^Benchmark(Quote|QuoteRune|AppendQuote|AppendQuoteRune|UnquoteEasy|UnquoteHard)$", 100_000},
		{"sort", "^Benchmark(SortString1K|StableString1K|SortInt1K|SortInt1K_Sorted|SortInt1K_Mod8|StableInt1K|Sort1e2|Stable1e2)$", 150},
		{"regexp", "^Benchmark(Literal|NotLiteral|MatchClass|MatchClass_InRange|ReplaceAll|AnchoredLongMatch|OnePassShortA|NotOnePassShortA|OnePassLongPrefix|FindSubmatch|FindString|QuoteMetaAll)$", 25_000},
		{"encoding/json", "^Benchmark(MarshalMap|UnicodeDecoder|DecoderStream|UnmarshalString|UnmarshalFloat64|UnmarshalInt64|UnmarshalMap|Issue10335|EncodeMarshaler|EncoderEncode|UnmarshalNumber|Unmapped)$", 4_000},
		{"compress/flate", "^Benchmark(Decode|Encode)$/^(Digits|Newton)$/^(Speed|Default)$/^1e4$", 50},
		{"math/big", "^Benchmark(DecimalConversion|ParseFloatSmallExp|Binomial|QuoRem|ModInverse|Sqrt|GCD1000x1000|ModSqrt225_Tonelli)$", 150},
	}
}

// BenchmarkStdlib compares metered against plain execution on real Go code: the test
// binaries of standard-library packages (GOOS=wasip1 GOARCH=wasm go test -c, built into a
// temporary directory), run as WASI commands with the compiler engine, plain in one
// runtime and instrumented in another whose "onex"."fuel" adds stdlibQuantum to the
// caller's counter. Each op runs a package once plain and once metered, alternating which
// goes first. Per package it reports the metered/plain ratio of CPU time (of the thread
// running the guest, Linux only) and of wall time, the geomean of the per-benchmark ratios
// of the ns/op the guest prints, refills per second of metered guest time, fuel charged
// per second of metered guest time and per ns of plain guest time (and, with a counter,
// executed instructions); the last sub-benchmark reports the geomeans over the packages.
// `-bench 'Stdlib/(sort|regexp)'` runs a subset. About 2 minutes at -benchtime=1x.
func BenchmarkStdlib(b *testing.B) {
	s := newStdlib(b, nil) // the counter seam: countInstructions, once it exists
	var cpu, wall, bench []float64
	turn := 0 // which mode goes first: alternates across rounds and packages
	for _, p := range stdlibPackages() {
		b.Run(strings.ReplaceAll(p.pkg, "/", "_"), func(b *testing.B) {
			g := s.guest(b, p)
			var plain, metered, counted result
			first := true
			for b.Loop() {
				turn++
				if turn%2 == 1 {
					plain.add(s.run(b, g, modePlain))
					metered.add(s.run(b, g, modeMetered))
				} else {
					metered.add(s.run(b, g, modeMetered))
					plain.add(s.run(b, g, modePlain))
				}
				if first && g.counted != nil {
					b.StopTimer()
					counted.add(s.run(b, g, modeCounted))
					b.StartTimer()
				}
				first = false
			}
			r := report(b, plain, metered, counted)
			cpu, wall, bench = append(cpu, r.cpu), append(wall, r.wall), append(bench, r.bench)
		})
	}
	// The geomeans are computed, not timed: the sub-benchmark has no loop, and its ns/op
	// means nothing.
	b.Run("geomean", func(b *testing.B) {
		if len(wall) == 0 {
			b.Skip("no package ran")
		}
		if !math.IsNaN(geomean(cpu)) {
			b.ReportMetric(geomean(cpu), "metered/plain-cpu")
		}
		b.ReportMetric(geomean(wall), "metered/plain-wall")
		b.ReportMetric(geomean(bench), "metered/plain-bench")
	})
}

// ratios are one package's metered/plain ratios; cpu is NaN without a thread clock.
type ratios struct{ cpu, wall, bench float64 }

// report reports one package's metrics on b and returns its ratios.
func report(b *testing.B, plain, metered, counted result) ratios {
	b.Helper()
	r := ratios{cpu: math.NaN(), wall: float64(metered.wall) / float64(plain.wall)}
	if plain.cpu > 0 && metered.cpu > 0 {
		r.cpu = float64(metered.cpu) / float64(plain.cpu)
		b.ReportMetric(r.cpu, "metered/plain-cpu")
	}
	b.ReportMetric(r.wall, "metered/plain-wall")
	var each []float64
	var table strings.Builder // for -v: each benchmark's ns/op (summed over the rounds)
	for _, name := range slices.Sorted(maps.Keys(plain.nsPerOp)) {
		ns := plain.nsPerOp[name]
		if m, ok := metered.nsPerOp[name]; ok && ns > 0 && m > 0 {
			each = append(each, m/ns)
			fmt.Fprintf(&table, "\n%-40s %14.1f %14.1f %6.2fx", name, ns, m, m/ns)
		}
	}
	if testing.Verbose() {
		b.Logf("%-40s %14s %14s %7s%s", "ns/op", "plain", "metered", "ratio", table.String())
	}
	if len(each) == 0 {
		b.Fatalf("no benchmark printed ns/op in both modes")
	}
	r.bench = geomean(each)
	b.ReportMetric(r.bench, "metered/plain-bench")
	b.ReportMetric(float64(len(each)), "benchmarks")
	guest := metered.guestTime().Seconds()
	b.ReportMetric(float64(metered.refills)/guest, "refills/s")
	b.ReportMetric(float64(metered.fuel)/guest, "fuel/s")
	b.ReportMetric(float64(metered.fuel)/float64(plain.guestTime().Nanoseconds()), "fuel/plain-ns")
	if counted.instructions > 0 { // from one run; metered and plain ran every round
		rounds := float64(metered.runs)
		b.ReportMetric(float64(metered.fuel)/rounds/float64(counted.instructions), "fuel/instr")
		b.ReportMetric(float64(counted.instructions)*rounds/float64(plain.guestTime().Nanoseconds()), "instr/plain-ns")
	}
	return r
}

// mode is how a guest runs: plain, instrumented, or through stdlib.count (untimed).
type mode int

const (
	modePlain mode = iota
	modeMetered
	modeCounted
)

// stdlib runs standard-library test binaries plain and metered. Not safe for concurrent
// use: sub-benchmarks run one at a time.
type stdlib struct {
	dir    string // the binaries
	goroot string // mounted read-only at /, for the packages' testdata
	// plain has WASI only; metered has WASI and the refill, which counts in refill.
	plain, metered wazero.Runtime
	refill         refillCount
	count          func(wasm []byte) ([]byte, error) // if not nil, see countGlobal
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

// result accumulates the runs of one mode.
type result struct {
	runs         int
	wall, cpu    time.Duration // cpu is 0 without a thread clock
	nsPerOp      map[string]float64
	refills      int64
	fuel         int64 // charged: refills × quantum − what is left
	instructions int64
}

func (r *result) add(o result) {
	r.runs += o.runs
	r.wall += o.wall
	r.cpu += o.cpu
	r.refills += o.refills
	r.fuel += o.fuel
	r.instructions += o.instructions
	if r.nsPerOp == nil {
		r.nsPerOp = map[string]float64{}
	}
	for k, v := range o.nsPerOp {
		r.nsPerOp[k] += v
	}
}

// guestTime is the CPU time of the runs, or their wall time without a thread clock.
func (r *result) guestTime() time.Duration {
	if r.cpu > 0 {
		return r.cpu
	}
	return r.wall
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
func (s *stdlib) run(b *testing.B, g *guest, m mode) result {
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
		WithStdout(&stdout).WithStderr(&stdout).
		WithSysWalltime().WithSysNanotime().WithSysNanosleep()
	mod, err := r.InstantiateModule(ctx, cm, cfg)
	if err != nil {
		b.Fatalf("instantiate %s: %v", g.pkg.pkg, err)
	}
	defer mod.Close(ctx)
	s.refill = refillCount{}
	fuel := mod.ExportedGlobal(DefaultGlobal) // nil when plain
	var counter api.Global
	if m == modeCounted {
		counter = mod.ExportedGlobal(countGlobal)
		if counter == nil {
			b.Fatalf("%s: the counted module exports no global %q", g.pkg.pkg, countGlobal)
		}
	}
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
	res := result{runs: 1, wall: wall, nsPerOp: parseBench(stdout.Bytes())}
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
		res.instructions = int64(counter.Get())
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

// geomean returns the geometric mean of xs, NaN if one is NaN.
func geomean(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += math.Log(x)
	}
	return math.Exp(sum / float64(len(xs)))
}
