package config_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/server/config"
)

func TestFile_Nodes_Dir(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "plugins/zeta.wasm", "")
	write(t, dir, "plugins/alpha.wasm", "")
	write(t, dir, "plugins/alpha.onex.yaml", "name: alpha\n")
	mkdir(t, dir, "plugins/sub.wasm") // a directory, not a plugin
	write(t, dir, "plugins/sub.wasm/inner.wasm", "")
	mkdir(t, dir, "data")
	f, err := loadDoc(t, dir, `
nodes:
  - dir: plugins
    timeout: 2s
    cache_ttl: -1
    concurrency: 1
    retry: {max_retries: -1}
    grants: {paths: [data], hosts: [api.example.com], kv: true}
    extism: {config: {k: v}}
`)
	require.NoError(t, err)
	nodes, err := f.Nodes()
	require.NoError(t, err)
	require.Len(t, nodes, 2, "the two *.wasm files, not the other file, the directory or what it holds")
	assert.Equal(t, filepath.Join(dir, "plugins", "alpha.wasm"), nodes[0].Path)
	assert.Equal(t, filepath.Join(dir, "plugins", "zeta.wasm"), nodes[1].Path)
	for _, n := range nodes {
		assert.Equal(t, 2*time.Second, n.PluginConfig.Timeout)
		assert.Negative(t, n.PluginConfig.CacheTTL, "-1: never cache")
		assert.Equal(t, 1, n.Effect.Concurrency)
		assert.Equal(t, -1, n.Effect.Retry.MaxRetries)
		assert.Equal(t, []host.PathGrant{{Dir: filepath.Join(dir, "data")}}, n.PluginConfig.Grants.Paths)
		assert.True(t, n.PluginConfig.Grants.KV)
		assert.Nil(t, n.PluginConfig.Extism.Node, "the host reads each module's own sidecar")
	}

	// Each node owns its slices and maps.
	nodes[0].PluginConfig.Grants.Paths[0].ReadOnly = true
	nodes[0].PluginConfig.Grants.Hosts[0] = "evil.example.com"
	nodes[0].PluginConfig.Extism.Config["k"] = "changed"
	assert.False(t, nodes[1].PluginConfig.Grants.Paths[0].ReadOnly)
	assert.Equal(t, "api.example.com", nodes[1].PluginConfig.Grants.Hosts[0])
	assert.Equal(t, "v", nodes[1].PluginConfig.Extism.Config["k"])
	assert.Equal(t, "v", f.NodeEntries[0].Extism.Config["k"])
	assert.Equal(t, "api.example.com", f.NodeEntries[0].Grants.Hosts[0])
}

func TestFile_Nodes_Relative(t *testing.T) {
	root := t.TempDir()
	abs := mkdir(t, root, "elsewhere")
	write(t, abs, "abs.wasm", "")
	cfgDir := mkdir(t, root, "etc/onex")
	write(t, cfgDir, "plugins/rel.wasm", "")
	write(t, cfgDir, "sidecars/rel.onex.yaml", "name: rel\n")
	write(t, cfgDir, "tokens/ci", "ci-token\n")
	mkdir(t, cfgDir, "data")
	doc := `
data_dir: state
cache_dir: ` + filepath.Join(root, "cache") + `
auth: {tokens: [{name: ci, role: invoke, file: tokens/ci}]}
nodes:
  - path: plugins/rel.wasm
    grants: {paths: ["data:ro", ` + abs + `]}
    extism: {node: sidecars/rel.onex.yaml}
  - path: ` + filepath.Join(abs, "abs.wasm") + `
`
	write(t, cfgDir, "onex.yaml", doc)
	// Load from another directory, by a relative path: what counts is the file's own
	// directory.
	t.Chdir(root)
	f, err := config.Load(filepath.Join("etc", "onex", "onex.yaml"))
	require.NoError(t, err)

	nodes, err := f.Nodes()
	require.NoError(t, err)
	require.Len(t, nodes, 2)
	assert.Equal(t, filepath.Join(cfgDir, "plugins", "rel.wasm"), nodes[0].Path)
	assert.Equal(t, []host.PathGrant{{Dir: filepath.Join(cfgDir, "data"), ReadOnly: true}, {Dir: abs}},
		nodes[0].PluginConfig.Grants.Paths)
	require.NotNil(t, nodes[0].PluginConfig.Extism.Node)
	assert.Equal(t, "rel", nodes[0].PluginConfig.Extism.Node.Name)
	assert.Equal(t, filepath.Join(abs, "abs.wasm"), nodes[1].Path, "absolute paths stay")

	hc, err := f.HostConfig(nil)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(cfgDir, "state"), hc.DataDir)
	assert.Equal(t, filepath.Join(root, "cache"), hc.CacheDir)

	tokens, err := f.Tokens()
	require.NoError(t, err)
	require.Len(t, tokens, 1)
	assert.Equal(t, "ci-token", tokens[0].Value)
}

func TestFile_Nodes_Changed(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "plugins/a.wasm", "")
	f, err := loadDoc(t, dir, "nodes: [{dir: plugins}]\n")
	require.NoError(t, err)

	f.NodeEntries = append(f.NodeEntries, config.NodeEntry{Path: "plugins/a.wasm"})
	_, err = f.Nodes()
	var fe *config.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "nodes[1].path", fe.Field)
	require.ErrorAs(t, f.Validate(), &fe)
	assert.Equal(t, "nodes[1].path", fe.Field)
}

// TestFile_Nodes_FSM: an fsm entry is a node without a plugin; path or dir beside it,
// or a missing contract, is an error naming nodes[i].fsm.
func TestFile_Nodes_FSM(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "order.yaml", "state_machine_name: orders\n")
	write(t, dir, "p.wasm", "")
	f, err := loadDoc(t, dir, "nodes:\n  - fsm: order.yaml\n    name: orders\n")
	require.NoError(t, err)
	nodes, err := f.Nodes()
	require.NoError(t, err)
	require.Len(t, nodes, 1)
	assert.Equal(t, config.Node{FSM: filepath.Join(dir, "order.yaml"), Name: "orders"}, nodes[0])

	for doc, field := range map[string]string{
		"nodes:\n  - fsm: order.yaml\n    path: p.wasm\n": "nodes[0].fsm",
		"nodes:\n  - fsm: order.yaml\n    dir: .\n":       "nodes[0].fsm",
		"nodes:\n  - fsm: missing.yaml\n":                 "nodes[0].fsm",
	} {
		f, err := loadDoc(t, dir, doc)
		if err == nil {
			_, err = f.Nodes()
		}
		var fe *config.FieldError
		require.ErrorAs(t, err, &fe, doc)
		assert.Equal(t, field, fe.Field, doc)
	}
}

// TestFile_Nodes_ValidateInput: validate_input: false turns a node's input check off;
// absent or true leaves it on.
func TestFile_Nodes_ValidateInput(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.wasm", "")
	write(t, dir, "b.wasm", "")
	write(t, dir, "c.wasm", "")
	f, err := loadDoc(t, dir, `
nodes:
  - path: a.wasm
    validate_input: false
  - path: b.wasm
    validate_input: true
  - path: c.wasm
`)
	require.NoError(t, err)
	nodes, err := f.Nodes()
	require.NoError(t, err)
	require.Len(t, nodes, 3)
	assert.True(t, nodes[0].PluginConfig.SkipInputValidation)
	assert.False(t, nodes[1].PluginConfig.SkipInputValidation)
	assert.False(t, nodes[2].PluginConfig.SkipInputValidation)
}

// TestFile_Nodes_Workflow: a workflow entry is a contract for the workflow engine, no
// plugin and no name; anything beside it, or a missing contract, is an error naming it.
func TestFile_Nodes_Workflow(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "order.yaml", "name: order\n")
	write(t, dir, "p.wasm", "")
	f, err := loadDoc(t, dir, "nodes:\n  - workflow: order.yaml\n")
	require.NoError(t, err)
	nodes, err := f.Nodes()
	require.NoError(t, err)
	assert.Equal(t, []config.Node{{Workflow: filepath.Join(dir, "order.yaml")}}, nodes)

	for doc, field := range map[string]string{
		"nodes:\n  - workflow: order.yaml\n    path: p.wasm\n":    "nodes[0].workflow",
		"nodes:\n  - workflow: order.yaml\n    fsm: order.yaml\n": "nodes[0].workflow",
		"nodes:\n  - workflow: order.yaml\n    name: x\n":         "nodes[0].name",
		"nodes:\n  - workflow: missing.yaml\n":                    "nodes[0].workflow",
	} {
		f, err := loadDoc(t, dir, doc)
		if err == nil {
			_, err = f.Nodes()
		}
		var fe *config.FieldError
		require.ErrorAs(t, err, &fe, doc)
		assert.Equal(t, field, fe.Field, doc)
	}
}
