package config_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/server/config"
	"github.com/onexhost/onex-host/host/signature"
)

func TestLoad_OCIFields(t *testing.T) {
	dir := fixtureTree(t)
	_, pub, err := signature.GenerateKey()
	require.NoError(t, err)
	write(t, dir, "acme.pub", string(pub))
	pin := "sha256:" + strings.Repeat("ab", 32)

	f, err := loadDoc(t, dir, "data_dir: data\ntrusted_keys: [acme.pub]\nregistry: {insecure: true}\nnodes:\n"+
		"  - {path: \"oci://ghcr.io/acme/echo:1\", digest: "+pin+"}\n"+
		"  - {path: plugins/a.wasm, trusted_keys: [acme.pub, acme.pub]}\n")
	require.NoError(t, err)
	nodes, err := f.Nodes()
	require.NoError(t, err)
	require.Len(t, nodes, 2)
	assert.Equal(t, "oci://ghcr.io/acme/echo:1", nodes[0].Path, "a reference is not a path")
	assert.Equal(t, pin, nodes[0].Source.Policy.Digest)
	assert.Len(t, nodes[0].Source.Policy.Trusted, 1, "the file's keys")
	assert.Len(t, nodes[1].Source.Policy.Trusted, 2, "the node's own keys replace the file's")
	assert.Equal(t, filepath.Join(dir, "data", "store"), nodes[0].Source.Store)
	assert.True(t, nodes[0].Source.Insecure)

	for _, tc := range []struct{ name, doc, field string }{
		{"bad digest", "nodes: [{path: plugins/a.wasm, digest: sha256:abc}]\n", "nodes[0].digest"},
		{"digest on a dir", "nodes: [{dir: plugins, digest: " + pin + "}]\n", "nodes[0].digest"},
		{"reference without tag", "nodes: [{path: \"oci://ghcr.io/acme/echo\"}]\n", "nodes[0].path"},
		{"reference without store", "data_dir: \"\"\nnodes: [{path: \"oci://ghcr.io/acme/echo:1\"}]\n", "nodes[0].path"},
		{"missing node key", "nodes: [{path: plugins/a.wasm, trusted_keys: [nope.pub]}]\n", "nodes[0].trusted_keys[0]"},
		{"host key not a key", "trusted_keys: [notes.txt]\n", "trusted_keys[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadDoc(t, dir, tc.doc)
			var fe *config.FieldError
			require.ErrorAs(t, err, &fe, "%v", err)
			assert.Equal(t, tc.field, fe.Field, "%v", err)
		})
	}
}
