package kitsrc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFiles: what a generated project gets is the repository's abi and sdk Go files
// (no tests), onex.h and the Rust crate, byte for byte.
func TestFiles(t *testing.T) {
	root := filepath.Join("..", "..", "..", "..")
	got := Files()
	for _, name := range []string{"abi/manifest.go", "abi/reduce.go", "sdk/compute.go", "sdk/c/onex.h", "sdk/rust/onex/src/lib.rs", "sdk/rust/onex/Cargo.toml"} {
		require.Contains(t, got, name)
		want, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got[name]), name)
	}
	for name := range got {
		assert.NotRegexp(t, `_test\.go$|/example/`, name)
	}
	abiFiles, err := filepath.Glob(filepath.Join(root, "abi", "*.go"))
	require.NoError(t, err)
	for _, f := range abiFiles {
		if !strings.HasSuffix(f, "_test.go") {
			assert.Contains(t, got, "abi/"+filepath.Base(f), "every abi source is carried")
		}
	}
}
