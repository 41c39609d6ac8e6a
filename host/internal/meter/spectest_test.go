package meter

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero/api"
)

// specCounts counts what TestInstrument_SpecSuite compared, over all scripts.
type specCounts struct {
	scripts, modules, compared, refusals, exact, tinyDone, tinyStopped, tinySkipped, rebuilds atomic.Int64
}

// TestInstrument_SpecSuite runs the WebAssembly spec suite (v1 and v2, as wazero ships
// it) twice, plain and metered, in two runtimes with wazero's compiler, and checks
// that metering changes nothing a program can observe:
//
//   - assert_return and action give bit-identical results (and plain gives the
//     expected ones, which proves the harness), assert_trap traps alike,
//     assert_unlinkable and assert_uninstantiable fail alike;
//   - assert_exhaustion exhausts the stack alike, in two more runtimes with the
//     interpreter (see newSpecWorld), which join the script at its first one;
//   - a binary assert_invalid or assert_malformed module is refused metered (by
//     Instrument, or by wazero compiling its output) exactly when plain wazero
//     refuses it. A rewrite that makes an invalid index valid fails here;
//   - an assert_return run metered in a third runtime, whose refill grants a few units
//     a few times and then stops the call, gives the plain result or the stop. That
//     is every assert_return but those a script reaches after its eighth stop in a
//     world with state (see checkTiny);
//   - every call and instantiation that runs to its end metered is charged exactly the
//     instructions it executed: the fuel it used equals that of a fourth runtime whose
//     modules are instrumented in exact mode (a charge of 1 before every instruction).
//
// Scripts run in parallel, and each distinct module is compiled once (specCompiled):
// under the race detector the whole test takes about 40 s of CPU.
func TestInstrument_SpecSuite(t *testing.T) {
	dir := specDir(t)
	compiled := newSpecCompiled(t)
	var n specCounts
	t.Cleanup(func() { // after the parallel subtests
		t.Logf("%d scripts, %d modules, %d assertions compared, %d invalid or malformed modules checked, "+
			"%d runs charged exactly; tiny budgets: %d completed, %d stopped, %d skipped, %d worlds built",
			n.scripts.Load(), n.modules.Load(), n.compared.Load(), n.refusals.Load(), n.exact.Load(),
			n.tinyDone.Load(), n.tinyStopped.Load(), n.tinySkipped.Load(), n.rebuilds.Load())
	})
	for _, v := range []struct {
		name     string
		features api.CoreFeatures
	}{
		{name: "v1", features: api.CoreFeaturesV1},
		{name: "v2", features: api.CoreFeaturesV2},
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			paths, err := filepath.Glob(filepath.Join(dir, v.name, "testdata", "*.json"))
			require.NoError(t, err)
			require.NotEmpty(t, paths)
			for _, p := range paths {
				t.Run(strings.TrimSuffix(filepath.Base(p), ".json"), func(t *testing.T) {
					t.Parallel()
					runSpecScript(t, newSpecLoader(filepath.Dir(p), v.features, compiled), readScript(t, p), &n)
					n.scripts.Add(1)
				})
			}
		})
	}
}

// runSpecScript runs one script plain, metered and with tiny budgets.
func runSpecScript(t testing.TB, l *specLoader, s specScript, n *specCounts) {
	t.Helper()
	plain, metered := newSpecWorld(t, l, false, false), newSpecWorld(t, l, true, false)
	exact := newExactWorld(t, l)
	from := s.replayStarts(t, l)
	deepPlain := &specReplica{l: l, s: s, from: from, interpreter: true}
	deepMetered := &specReplica{l: l, s: s, from: from, metered: true, interpreter: true}
	tiny := &specReplica{l: l, s: s, from: from, metered: true}
	for i, c := range s.Commands {
		switch c.Type {
		case "assert_invalid", "assert_malformed":
			if c.ModuleType == "binary" {
				checkRefusal(t, plain, metered, c, l.load(t, c.Filename, false))
				n.refusals.Add(1)
			}
			continue
		case "register":
			continue
		case "assert_exhaustion":
			p, m := deepPlain.at(t, i).do(t, s, i), deepMetered.at(t, i).do(t, s, i)
			require.Error(t, p.err, "plain %s must exhaust the stack", c)
			assert.Equal(t, firstLine(p.err), firstLine(m.err), "%s", c)
			n.compared.Add(1)
			continue
		}
		fuel0 := [2]int64{metered.fuel(), exact.fuel()}
		p, m, e := plain.do(t, s, i), metered.do(t, s, i), exact.do(t, s, i)
		if m.err == nil && c.Type != "assert_unlinkable" && c.Type != "assert_uninstantiable" {
			// What ran to its end (a call, a start function) was charged exactly the
			// instructions it executed.
			require.NoError(t, e.err, "exact %s", c)
			assert.Equal(t, exact.fuel()-fuel0[1], metered.fuel()-fuel0[0], "%s: fuel against instructions executed", c)
			n.exact.Add(1)
		}
		deepPlain.follow(t, i)
		deepMetered.follow(t, i)
		switch c.Type {
		case "module":
			require.NoError(t, p.err, "plain %s", c)
			require.NoError(t, m.err, "metered %s", c)
			n.modules.Add(1)
		case "assert_return", "action":
			require.NoError(t, p.err, "plain %s", c)
			if c.Type == "assert_return" {
				assert.NoError(t, checkExpected(c.Expected, p.results), "plain %s", c)
			}
			if assert.NoError(t, m.err, "metered %s", c) {
				assert.True(t, sameResults(p.types, p.results, m.results),
					"%s: metered gave %#x, plain %#x", c, m.results, p.results)
			}
		case "assert_trap":
			require.Error(t, p.err, "plain %s must trap (%s)", c, c.Text)
			assert.Equal(t, firstLine(p.err), firstLine(m.err), "%s", c)
		case "assert_unlinkable", "assert_uninstantiable":
			assert.Equal(t, p.err != nil, m.err != nil, "%s: plain %v, metered %v", c, p.err, m.err)
		default:
			require.Failf(t, "unknown command", "%s", c)
		}
		if c.Type != "module" {
			n.compared.Add(1)
		}
		if c.Type == "assert_return" && c.Action.Type == "invoke" {
			checkTiny(t, tiny, i, p, n)
		} else {
			tiny.follow(t, i)
		}
	}
}

// checkRefusal checks that the metered path refuses wasm exactly when plain wazero's
// compiler does.
func checkRefusal(t testing.TB, plain, metered *specWorld, c specCommand, wasm []byte) {
	t.Helper()
	plainErr := compileErr(plain, wasm)
	out, _, err := Instrument(wasm, Options{})
	if err != nil {
		assert.True(t, errors.Is(err, ErrMalformed) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrUnsupported) || errors.Is(err, ErrConflict),
			"%s: error wraps no sentinel: %v", c, err)
	} else {
		err = compileErr(metered, out)
	}
	if plainErr != nil {
		assert.Error(t, err, "%s (%s): plain refuses it (%v), metered accepts it", c, c.Text, firstLine(plainErr))
	} else {
		assert.NoError(t, err, "%s (%s): plain accepts it, metered refuses it", c, c.Text)
	}
}

func compileErr(w *specWorld, wasm []byte) error {
	ctx := context.Background()
	c, err := w.r.CompileModule(ctx, wasm)
	if err == nil {
		_ = c.Close(ctx)
	}
	return err
}

// firstLine is an error's text without the wasm stack trace wazero appends, which
// names functions by index (and the refill import shifts those).
func firstLine(err error) string {
	if err == nil {
		return "<nil>"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// maxTinyBuilds is how many times a script's tiny-budget world may be built. Each
// build instantiates the script's modules again and replays its calls since the last
// module nothing later depends on; scripts with many stateful modules and checks
// (memory_copy, table_init, ...) would otherwise rebuild hundreds of times.
const maxTinyBuilds = 8

// checkTiny runs assert_return i metered with a tiny budget: the refill grants a few
// units a few times, then stops the call. The outcome must be the plain one, p, or
// the stop. A stop may leave the world's state half-changed, so unless the world has
// no state at all it is dropped, to be rebuilt by replaying at the next check.
func checkTiny(t testing.TB, tiny *specReplica, i int, p specOutcome, n *specCounts) {
	t.Helper()
	c := tiny.s.Commands[i]
	if tiny.w == nil {
		if tiny.builds == maxTinyBuilds {
			n.tinySkipped.Add(1)
			return
		}
		tiny.builds++
		n.rebuilds.Add(1)
	}
	w := tiny.at(t, i)
	// The numbers of refills a budget allows, in turn; each refill grants 1 to 5 units.
	grants := [...]int{0, 1, 2, 3, 5, 8, 13, 21, 55, 144, 377, 1000}
	tiny.checks++
	w.resetFuel(t)
	w.budget = &tinyBudget{chunk: int64(1 + tiny.checks%5), grants: grants[tiny.checks%len(grants)]}
	o := w.do(t, tiny.s, i)
	w.budget = nil
	if o.err != nil {
		require.ErrorIs(t, o.err, errSpecStopped, "%s: a tiny budget must only stop the call", c)
		n.tinyStopped.Add(1)
		if w.stateful {
			tiny.drop()
		}
		return
	}
	assert.True(t, sameResults(p.types, p.results, o.results), "%s: with a tiny budget %#x, plain %#x", c, o.results, p.results)
	n.tinyDone.Add(1)
}

// specReplica is a world that joins a script late: it is built when first needed by
// replaying the script up to there (from the command replayStarts gives), then
// follows the script command by command until dropped.
type specReplica struct {
	l                    *specLoader
	s                    specScript
	from                 []int
	metered, interpreter bool
	w                    *specWorld // nil until needed, and after drop
	checks, builds       int        // tiny budgets run and worlds built so far
}

// at returns the world, built up to command i (not included).
func (r *specReplica) at(t testing.TB, i int) *specWorld {
	t.Helper()
	if r.w == nil {
		r.w = newSpecWorld(t, r.l, r.metered, r.interpreter)
		for j := r.from[i]; j < i; j++ {
			r.replay(t, j)
		}
	}
	return r.w
}

// follow runs command i in the world, if there is one.
func (r *specReplica) follow(t testing.TB, i int) {
	t.Helper()
	if r.w != nil {
		r.replay(t, i)
	}
}

func (r *specReplica) drop() {
	r.w.close()
	r.w = nil
}

// replay runs command i, not as a check. Calls into a world without state cannot
// change what later commands see, so they are left out, and so are assert_exhaustion
// calls, which in the suite only recurse (they run where the script checks them).
func (r *specReplica) replay(t testing.TB, i int) {
	t.Helper()
	c := r.s.Commands[i]
	switch c.Type {
	case "assert_exhaustion":
		return
	case "action", "assert_return", "assert_trap":
		if !r.w.stateful {
			return
		}
	}
	o := r.w.do(t, r.s, i)
	if c.Type == "module" {
		require.NoError(t, o.err, "replay %s", c)
	}
}

// replayStarts returns, for each command, the first command a replay must run to
// rebuild the state before it: the latest module command such that every module
// instantiated before it is unreachable afterwards (unnamed, unregistered, importing
// no table, memory or global).
func (s specScript) replayStarts(tb testing.TB, l *specLoader) []int {
	tb.Helper()
	starts := make([]int, len(s.Commands))
	start, reachable := 0, false
	for i, c := range s.Commands {
		switch c.Type {
		case "module", "assert_unlinkable", "assert_uninstantiable":
			if c.Type == "module" && !reachable {
				start = i
			}
			_, imported := moduleState(l.load(tb, c.Filename, false))
			reachable = reachable || imported || c.Type == "module" && (c.Name != "" || s.registeredAs(i) != "")
		}
		starts[i] = start
	}
	return starts
}
