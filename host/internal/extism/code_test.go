package extism

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
)

// compileFixture compiles plugins/testdata/wat/name in a plain wazero runtime.
func compileFixture(t *testing.T, name string) wazero.CompiledModule {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join("..", "..", "..", "plugins", "testdata", "wat", name))
	require.NoError(t, err)
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { _ = rt.Close(ctx) })
	mod, err := rt.CompileModule(ctx, wasm)
	require.NoError(t, err)
	return mod
}

// TestCheckImports: an Extism module importing the kernel passes; one importing a
// function neither the kernel nor WASI provides is refused, naming it.
func TestCheckImports(t *testing.T) {
	require.NoError(t, CheckImports(compileFixture(t, "extismloop.wasm"), map[string]bool{}))
	err := CheckImports(compileFixture(t, "badimport.wasm"), map[string]bool{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the host does not provide env.host_secret")
}

// TestGuestField: the pinned go-sdk gives access to the guest module, so Extism plugins
// can be metered. A go-sdk upgrade that hides it makes them run guarded (logged at load);
// this test says so first.
func TestGuestField(t *testing.T) {
	require.NotNil(t, guestField, "go-sdk's Plugin has no mainModule field of type api.Module: Extism plugins would run guarded")
}
