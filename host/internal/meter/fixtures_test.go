package meter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInstrument_Fixtures instruments every real module we have and checks that wazero
// accepts the result, that sections the rewriter has no reason to touch are unchanged
// byte for byte and in place, and that the import and export were added.
func TestInstrument_Fixtures(t *testing.T) {
	r, _ := validator(t)
	ctx := context.Background()
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			in := readFile(t, f.path)
			orig, err := r.CompileModule(ctx, in)
			require.NoError(t, err, "the fixture itself must be valid")
			defer orig.Close(ctx)
			out, info, err := Instrument(in, Options{})
			require.NoError(t, err)

			c, err := r.CompileModule(ctx, out)
			require.NoError(t, err, "instrumented module must validate")
			defer c.Close(ctx)
			imported := c.ImportedFunctions()
			require.Len(t, imported, int(info.RefillFunc)+1, "the refill import is the last imported function")
			m, n, ok := imported[info.RefillFunc].Import()
			require.True(t, ok)
			assert.Equal(t, DefaultImportModule+"."+DefaultImportName, m+"."+n)
			assert.Empty(t, imported[info.RefillFunc].ParamTypes())
			assert.Empty(t, imported[info.RefillFunc].ResultTypes())
			assert.GreaterOrEqual(t, info.Checks, info.Loops, "every loop has a check")
			assert.LessOrEqual(t, info.Checks, info.Functions+info.Loops)
			assert.False(t, info.NamesDropped)

			// Exported functions keep their names and signatures.
			for name, def := range orig.ExportedFunctions() {
				got := c.ExportedFunctions()[name]
				require.NotNil(t, got, name)
				assert.Equal(t, def.ParamTypes(), got.ParamTypes(), name)
				assert.Equal(t, def.ResultTypes(), got.ResultTypes(), name)
				assert.Equal(t, def.Name(), got.Name(), "debug name of %s", name)
				want := def.Index()
				if want >= info.RefillFunc { // defined, not a re-exported import
					want++
				}
				assert.Equal(t, want, got.Index(), "index of %s", name)
			}

			assertSectionsKept(t, in, out)
		})
	}
}

// assertSectionsKept checks that out has the sections of in, in the same order, with
// the function, table, memory, data count and data sections and every custom section
// but "name" identical.
func assertSectionsKept(t *testing.T, in, out []byte) {
	t.Helper()
	added := map[byte]bool{}
	before := splitSections(t, in)
	for _, s := range before {
		added[s.id] = true
	}
	var after []rawSection
	for _, s := range splitSections(t, out) {
		// Sections the rewriter had to create are not in the input.
		if !added[s.id] {
			require.Contains(t, []byte{secType, secImport, secGlobal, secExport}, s.id)
			continue
		}
		after = append(after, s)
	}
	require.Len(t, after, len(before))
	for i := range before {
		b, a := before[i], after[i]
		require.Equal(t, b.id, a.id, "section %d", i)
		require.Equal(t, b.name, a.name, "section %d", i)
		switch {
		case b.id == secCustom && b.name == "name":
		case b.id == secCustom, b.id == secFunction, b.id == secTable, b.id == secMemory,
			b.id == secDataCount, b.id == secData:
			assert.Equal(t, b.raw, a.raw, "section %d (id %d %q) must be unchanged", i, b.id, b.name)
		}
	}
}
