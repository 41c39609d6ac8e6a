package reducer

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStore_Keys: pages in the store's order (shorter keys first, then byte order), any
// cursor, and only the node's own keys.
func TestStore_Keys(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), NewConfig())
	a, err := NewNode("a", "count", counterFold, s)
	require.NoError(t, err)
	ab, err := NewNode("ab", "count", counterFold, s)
	require.NoError(t, err)
	ctx := testCtx(t)
	for i, k := range []string{"zz", "b", "a", "c:d", "aa"} {
		_, err := a.Apply(ctx, k, counterEvent(fmt.Sprint(i), 1))
		require.NoError(t, err)
	}
	_, err = a.Apply(ctx, "b", counterEvent("again", 1))
	require.NoError(t, err)
	_, err = ab.Apply(ctx, "x", counterEvent("1", 1)) // another node whose name extends a's
	require.NoError(t, err)

	all := []KeyInfo{{"a", 1}, {"b", 2}, {"aa", 1}, {"zz", 1}, {"c:d", 1}}
	tests := []struct {
		name  string
		after string
		limit int
		want  []KeyInfo
		more  bool
	}{
		{"all", "", 0, all, false},
		{"first page", "", 2, all[:2], true},
		{"next page", "b", 2, all[2:4], true},
		{"last page", "zz", 2, all[4:], false},
		{"a cursor that is no key", "ab", 10, all[3:], false},
		{"past the end", "c:d", 10, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, more, err := s.Keys("a", tc.after, tc.limit)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.more, more)
		})
	}
	got, _, err := s.Keys("ab", "", 0)
	require.NoError(t, err)
	assert.Equal(t, []KeyInfo{{"x", 1}}, got)
	got, _, err = s.Keys("none", "", 0)
	require.NoError(t, err)
	assert.Empty(t, got)
}
