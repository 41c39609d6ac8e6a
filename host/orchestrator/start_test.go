package orchestrator

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStart_SameInputAnyMemberOrder: a start repeated with the same input encoded in
// another member order (as a client re-encoding a map may send it) answers the existing
// workflow; another value is a conflict, 1.0 included (numbers compare as written).
func TestStart_SameInputAnyMemberOrder(t *testing.T) {
	t.Parallel()
	e := openEngine(t, t.TempDir(), &counter{}, Definition{Name: "seq", Plan: seqPlanner(1, false, nil)})
	_, created, err := e.Start(testCtx(t), "w", "seq", json.RawMessage(`{"a":1,"b":{"c":[1,"x"],"d":null}}`))
	require.NoError(t, err)
	require.True(t, created)
	for _, same := range []string{`{"b":{"d":null,"c":[1,"x"]},"a":1}`, ` { "a" : 1, "b" : {"c":[1,"x"],"d":null} } `} {
		w, created, err := e.Start(testCtx(t), "w", "seq", json.RawMessage(same))
		require.NoError(t, err, same)
		assert.False(t, created, same)
		assert.JSONEq(t, `{"a":1,"b":{"c":[1,"x"],"d":null}}`, string(w.Input))
	}
	for _, other := range []string{`{"a":1.0,"b":{"c":[1,"x"],"d":null}}`, `{"a":1,"b":{"c":["x",1],"d":null}}`, `{"a":1}`, `null`} {
		_, _, err := e.Start(testCtx(t), "w", "seq", json.RawMessage(other))
		assert.ErrorIs(t, err, ErrConflict, other)
	}
}
