package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// write creates dir/name (and its parents) holding content.
func write(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// mkdir creates dir/name.
func mkdir(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	require.NoError(t, os.MkdirAll(p, 0o755))
	return p
}

// exampleTree copies example.onex.yaml into a temporary directory, as onex.yaml, next to
// everything it names, and returns the directory.
func exampleTree(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("example.onex.yaml")
	require.NoError(t, err)
	dir := t.TempDir()
	write(t, dir, "onex.yaml", string(b))
	write(t, dir, "plugins/b.wasm", "")
	write(t, dir, "plugins/a.wasm", "")
	write(t, dir, "plugins/README.md", "not a plugin")
	write(t, dir, "effects/fileops.wasm", "")
	write(t, dir, "extism/text.wasm", "")
	write(t, dir, "extism/text-node.onex.yaml", "name: text\ndeterministic: true\n")
	write(t, dir, "secrets/ops-token", "  ops-secret-from-file\n")
	write(t, dir, "contracts/order_fsm.yaml", "")
	write(t, dir, "workflows/fulfil.yaml", "")
	mkdir(t, dir, "data")
	mkdir(t, dir, "ref")
	return dir
}

// fixtureTree is a directory for the validation tests: two plugins, a directory without
// plugins, a plain file, a grantable directory, sidecars good and bad.
func fixtureTree(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	write(t, dir, "plugins/a.wasm", "")
	write(t, dir, "plugins/b.wasm", "")
	write(t, dir, "notes.txt", "")
	write(t, dir, "good.onex.yaml", "name: good\n")
	write(t, dir, "bad.onex.yaml", "name: bad\nflavour: extism\n")
	mkdir(t, dir, "empty")
	mkdir(t, dir, "data")
	return dir
}
