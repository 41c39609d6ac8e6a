package meter

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
)

// FuzzInstrument checks that Instrument never panics, that every error wraps one of
// the sentinels, and that metered and plain accept the same modules: when Instrument
// accepts an input, wazero (the interpreter, whose compile step is cheap) compiles the
// output exactly when it compiles the input. An output that compiles from an input
// that does not is a bypass, such as a rewrite that made an invalid index valid.
//
// An input Instrument refuses is not compiled. ErrUnsupported and ErrConflict may
// refuse a valid module (it must run guarded); an input it calls malformed is not
// given to wazero, which on malformed input may allocate whatever a vector count
// claims before noticing it does not fit, and so kill the fuzzing process. (That
// every valid spec module is accepted, TestInstrument_SpecSuite checks.)
//
// The seeds are the small real fixtures, the assembled test modules and the spec
// suite's binary modules (valid, invalid and malformed, as wazero ships them), each of
// at most 8 KiB, which keeps mutation and minimisation fast; testdata/fuzz holds inputs
// that found bugs.
func FuzzInstrument(f *testing.F) {
	for _, fx := range fixtures(f) {
		if b := readFile(f, fx.path); len(b) <= 8<<10 {
			f.Add(b)
		}
	}
	for _, b := range [][]byte{countModule(), fibModule(), sumModule(), featuresModule(), renumberModule(), envModule(), wasmModule()} {
		f.Add(b)
	}
	for _, b := range specSeeds(f, 8<<10) {
		f.Add(b)
	}
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	f.Cleanup(func() { _ = r.Close(ctx) })
	compile := func(b []byte) error {
		c, err := r.CompileModule(ctx, b)
		if err == nil {
			_ = c.Close(ctx)
		}
		return err
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, info, err := Instrument(in, Options{})
		if err != nil {
			require.Nil(t, out)
			require.Zero(t, info)
			require.True(t, errors.Is(err, ErrMalformed) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrUnsupported) || errors.Is(err, ErrConflict),
				"error wraps no sentinel: %v", err)
			if errors.Is(err, ErrInvalid) {
				// Well-formed up to the index it refused: plain wazero must refuse it too.
				require.Error(t, compile(in), "metered refuses what plain accepts: %v", err)
			}
			return // see above for ErrMalformed; the last two may refuse a valid module
		}
		inErr, outErr := compile(in), compile(out)
		if inErr != nil {
			require.Error(t, outErr, "metered accepts what plain refuses (%v)", inErr)
			return
		}
		require.NoError(t, outErr, "wazero must accept the output")
	})
}

// specSeeds returns the distinct binary modules of the spec suite of at most size
// bytes, in a stable order.
func specSeeds(tb testing.TB, size int64) [][]byte {
	tb.Helper()
	dir := specDir(tb)
	var paths []string
	for _, pattern := range []string{"v1/testdata/*.wasm", "v2/testdata/*.wasm", "testdata/spectest.wasm"} {
		p, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(pattern)))
		require.NoError(tb, err)
		paths = append(paths, p...)
	}
	sort.Strings(paths)
	seen := map[[sha256.Size]byte]bool{}
	var out [][]byte
	for _, p := range paths {
		st, err := os.Stat(p)
		require.NoError(tb, err)
		if st.Size() > size {
			continue
		}
		b := readFile(tb, p)
		if h := sha256.Sum256(b); !seen[h] {
			seen[h] = true
			out = append(out, b)
		}
	}
	require.NotEmpty(tb, out)
	return out
}
