package kitsrc

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/cmd/onex-host/internal/kitsrc/collect"
)

// TestEmbeddedCopyIsCurrent fails when _src differs from the repository's abi, sdk,
// sdk/c and sdk/rust: run `go generate ./cmd/onex-host/internal/kitsrc`.
func TestEmbeddedCopyIsCurrent(t *testing.T) {
	want, err := collect.Files(filepath.Join("..", "..", "..", ".."))
	require.NoError(t, err)
	require.Contains(t, want, "abi/manifest.go")
	require.Contains(t, want, "sdk/compute.go")
	require.Contains(t, want, "sdk/c/onex.h")
	require.Contains(t, want, "sdk/rust/onex/src/lib.rs")
	got := Files()
	for name := range want {
		assert.Equal(t, string(want[name]), string(got[name]), "%s: stale copy; run go generate ./cmd/onex-host/internal/kitsrc", name)
	}
	for name := range got {
		assert.Contains(t, want, name, "%s: embedded but gone from the repository; run go generate ./cmd/onex-host/internal/kitsrc", name)
	}
	assert.NotContains(t, got, "sdk/compute_test.go")
}
