package meter

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
)

// stdlibPairs is how many times an op of BenchmarkStdlib runs a package plain and
// metered; the metrics are ratios of medians.
const stdlibPairs = 3

// stdlibPackage is a standard-library package whose test binary BenchmarkStdlib runs: the
// benchmarks matching bench, each for exactly n iterations (-test.benchtime=<n>x), so that
// every run, plain or metered, does the same work. A subset and n are picked so that a
// plain run takes 0.2–0.5 s of CPU and each benchmark in it at least a few ms: one n per
// run, so the benchmarks of a package have ops of similar cost.
type stdlibPackage struct {
	pkg   string
	bench string
	n     int
}

// stdlibPackages returns the packages of BenchmarkStdlib, in the order they run.
func stdlibPackages() []stdlibPackage {
	return []stdlibPackage{
		{"strconv", "^Benchmark(Quote|QuoteRune|AppendQuote|AppendQuoteRune|UnquoteEasy|UnquoteHard)$", 60_000},
		{"sort", "^Benchmark(SortString1K|StableString1K|SortInt1K|SortInt1K_Mod8|StableInt1K|Sort1e2|Stable1e2)$", 120},
		{"regexp", "^Benchmark(Literal|NotLiteral|MatchClass|MatchClass_InRange|ReplaceAll|AnchoredLongMatch|OnePassShortA|NotOnePassShortA|OnePassLongPrefix|FindSubmatch|FindString|QuoteMetaAll)$", 15_000},
		{"encoding/json", "^Benchmark(MarshalMap|UnicodeDecoder|DecoderStream|UnmarshalString|UnmarshalFloat64|UnmarshalInt64|UnmarshalMap|Issue10335|EncodeMarshaler|EncoderEncode|UnmarshalNumber|Unmapped)$", 3_000},
		{"compress/flate", "^Benchmark(Decode|Encode)$/^(Digits|Newton)$/^(Speed|Default)$/^1e4$", 40},
		{"math/big", "^Benchmark(DecimalConversion|ParseFloatSmallExp|Binomial|QuoRem|ModInverse|Sqrt|GCD1000x1000)$", 300},
	}
}

// BenchmarkStdlib compares metered against plain execution on real Go code: the test
// binaries of standard-library packages (GOOS=wasip1 GOARCH=wasm go test -c, built into a
// temporary directory), run as WASI commands with the compiler engine, plain in one
// runtime and instrumented in another whose "onex"."fuel" adds stdlibQuantum to the
// caller's counter. Each op runs a package stdlibPairs times plain and metered, alternating
// which goes first. Per package it reports, from the medians of the runs, the metered/plain
// ratio of CPU time (of the thread running the guest, Linux only) and of wall time, the
// geomean of the per-benchmark ratios of the ns/op the guest prints (timed on that
// thread's CPU clock, see stdlib.run), refills per second of metered guest time, fuel
// charged per second of metered guest time and per ns of plain guest time (and, with a
// counter, executed instructions); the last sub-benchmark reports the geomeans over the
// packages. With -v it logs each benchmark's ns/op. `-bench 'Stdlib/(sort|regexp)'` runs
// a subset. About 2 minutes at -benchtime=1x on a busy 2-core machine, half of it
// building and compiling the binaries.
func BenchmarkStdlib(b *testing.B) {
	s := newStdlib(b, countInstructions)
	var cpu, wall, bench []float64
	turn := 0 // which mode goes first: alternates across rounds and packages
	for _, p := range stdlibPackages() {
		b.Run(strings.ReplaceAll(p.pkg, "/", "_"), func(b *testing.B) {
			g := s.guest(b, p)
			var plain, metered []sample
			var counted sample
			for b.Loop() {
				for range stdlibPairs {
					turn++
					if turn%2 == 1 {
						plain = append(plain, s.run(b, g, modePlain))
						metered = append(metered, s.run(b, g, modeMetered))
					} else {
						metered = append(metered, s.run(b, g, modeMetered))
						plain = append(plain, s.run(b, g, modePlain))
					}
				}
				if g.counted != nil && counted.instructions == 0 {
					b.StopTimer()
					counted = s.run(b, g, modeCounted)
					b.StartTimer()
				}
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

// report reports one package's metrics on b, from the medians of its runs (or the one
// counted run), and returns its ratios.
func report(b *testing.B, plain, metered []sample, counted sample) ratios {
	b.Helper()
	wall := func(s sample) float64 { return float64(s.wall) }
	cpu := func(s sample) float64 { return float64(s.cpu) }
	r := ratios{cpu: math.NaN(), wall: median(metered, wall) / median(plain, wall)}
	if median(plain, cpu) > 0 && median(metered, cpu) > 0 {
		r.cpu = median(metered, cpu) / median(plain, cpu)
		b.ReportMetric(r.cpu, "metered/plain-cpu")
	}
	b.ReportMetric(r.wall, "metered/plain-wall")
	var each []float64
	var table strings.Builder // for -v: each benchmark's median ns/op
	for _, name := range slices.Sorted(maps.Keys(plain[0].nsPerOp)) {
		op := func(s sample) float64 { return s.nsPerOp[name] }
		ns, m := median(plain, op), median(metered, op)
		if ns > 0 && m > 0 {
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
	guest := median(metered, sample.guestTime) / 1e9 // seconds
	plainNs := median(plain, sample.guestTime)
	fuel := median(metered, func(s sample) float64 { return float64(s.fuel) })
	b.ReportMetric(median(metered, func(s sample) float64 { return float64(s.refills) })/guest, "refills/s")
	b.ReportMetric(fuel/guest, "fuel/s")
	b.ReportMetric(fuel/plainNs, "fuel/plain-ns")
	if n := float64(counted.instructions); n > 0 {
		b.ReportMetric(fuel/n, "fuel/instr")
		b.ReportMetric(n/plainNs, "instr/plain-ns")
	}
	return r
}

// median returns the median of f over samples (for an even count, the mean of the
// middle two): one run disturbed by the machine's other work does not move it.
func median(samples []sample, f func(sample) float64) float64 {
	xs := make([]float64, len(samples))
	for i, s := range samples {
		xs[i] = f(s)
	}
	slices.Sort(xs)
	return (xs[(len(xs)-1)/2] + xs[len(xs)/2]) / 2
}

// geomean returns the geometric mean of xs, NaN if one is NaN.
func geomean(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += math.Log(x)
	}
	return math.Exp(sum / float64(len(xs)))
}
