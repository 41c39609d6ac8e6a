package meter

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
)

// FuzzInstrument checks that Instrument never panics, that every error wraps one of
// the sentinels, and that whenever it succeeds on an input wazero accepts, wazero
// accepts the output too. (Only inputs Instrument accepted go to wazero: on malformed
// input wazero may allocate whatever a vector count claims before noticing it does
// not fit, which kills the fuzzing process.) The seeds are the small real fixtures and
// the assembled test modules; testdata/fuzz holds inputs that found bugs.
func FuzzInstrument(f *testing.F) {
	for _, fx := range fixtures(f) {
		if b := readFile(f, fx.path); len(b) <= 8<<10 { // small seeds keep mutation and minimisation fast
			f.Add(b)
		}
	}
	for _, b := range [][]byte{countModule(), fibModule(), sumModule(), featuresModule(), renumberModule(), envModule(), wasmModule()} {
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
			require.True(t, errors.Is(err, ErrMalformed) || errors.Is(err, ErrUnsupported) || errors.Is(err, ErrConflict),
				"error wraps no sentinel: %v", err)
			return
		}
		if compile(in) != nil {
			return
		}
		require.NoError(t, compile(out), "wazero must accept the output")
	})
}
