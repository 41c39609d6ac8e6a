package jsoncond_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/internal/jsoncond"
)

func TestParsePointer(t *testing.T) {
	cases := []struct {
		name, s string
		roots   []string
		err     string
	}{
		{"one root", "/input/a~1b", []string{"input"}, ""},
		{"not a pointer", "input", []string{"input"}, `"input" is not a JSON pointer (it starts with /input)`},
		{"two roots", "/x", []string{"input", "steps"}, `"/x" does not start with /input or /steps`},
		{"three roots", "/x", []string{"a", "b", "c"}, `"/x" does not start with /a, /b or /c`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := jsoncond.ParsePointer(c.s, c.roots)
			if c.err != "" {
				require.EqualError(t, err, c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.s, p.String())
		})
	}
}

// Of several pointers to nothing in an object, the first key's is reported, always.
func TestRender_ErrorIsDeterministic(t *testing.T) {
	tmpl := map[string]any{"z": "${/in/z}", "a": "${/in/a}", "m": "x ${/in/m} ${/in/n}"}
	for range 20 {
		_, err := jsoncond.Render(tmpl, map[string]any{"in": map[string]any{}})
		require.EqualError(t, err, "/in/a points at nothing")
	}
	_, err := jsoncond.Render("x ${/in/m} ${/in/n}", map[string]any{"in": map[string]any{}})
	require.EqualError(t, err, "/in/m points at nothing")
}
