package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/server/config"
)

func TestFile_Tokens(t *testing.T) {
	const envSecret, fileSecret = "env-secret-4f1c9a", "file-secret-7b2e0d"
	dir := t.TempDir()
	write(t, dir, "secrets/ops", "\n  "+fileSecret+"  \n")
	t.Setenv("TEST_ONEX_CI", " "+envSecret+"\n")
	f, err := loadDoc(t, dir, `
listen: 0.0.0.0:8080
auth:
  tokens:
    - {name: ci, role: invoke, env: TEST_ONEX_CI}
    - {name: ops, role: admin, file: secrets/ops}
`)
	require.NoError(t, err)
	tokens, err := f.Tokens()
	require.NoError(t, err)
	assert.Equal(t, []config.Token{
		{Name: "ci", Role: config.RoleInvoke, Value: envSecret},
		{Name: "ops", Role: config.RoleAdmin, Value: fileSecret},
	}, tokens, "values trimmed")

	// Nothing that prints a Token shows its value.
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("t", "token", tokens[0], "tokens", tokens)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("t", "token", tokens[0], "tokens", tokens)
	js, err := json.Marshal(tokens)
	require.NoError(t, err)
	outputs := map[string]string{
		"String":   tokens[0].String(),
		"GoString": tokens[0].GoString(),
		"%v":       fmt.Sprintf("%v", tokens),
		"%+v":      fmt.Sprintf("%+v", tokens),
		"%#v":      fmt.Sprintf("%#v", tokens),
		"%s":       fmt.Sprintf("%s", tokens[1]),
		"pointer":  fmt.Sprintf("%+v", &tokens[1]),
		"nested":   fmt.Sprintf("%+v %#v", struct{ T config.Token }{tokens[0]}, struct{ T config.Token }{tokens[1]}),
		"slog":     logs.String(),
		"json":     string(js),
	}
	for name, out := range outputs {
		assert.NotContains(t, out, envSecret, name)
		assert.NotContains(t, out, fileSecret, name)
	}
	assert.Equal(t, "ci (invoke)", tokens[0].String())
	assert.Contains(t, outputs["%#v"], `Name:"ci"`)
}

func TestFile_Tokens_Errors(t *testing.T) {
	const secret = "s3cret-value-91d7"
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		doc   string
		field string
	}{
		{
			name:  "unset variable",
			doc:   "auth: {tokens: [{name: ci, role: invoke, env: TEST_ONEX_UNSET}]}\n",
			field: "auth.tokens[0].env",
		},
		{
			name:  "empty variable",
			setup: func(t *testing.T, _ string) { t.Setenv("TEST_ONEX_EMPTY", "  \n") },
			doc:   "auth: {tokens: [{name: ci, role: invoke, env: TEST_ONEX_EMPTY}]}\n",
			field: "auth.tokens[0]",
		},
		{
			name:  "missing file",
			doc:   "auth: {tokens: [{name: ops, role: admin, file: secrets/nope}]}\n",
			field: "auth.tokens[0].file",
		},
		{
			name:  "file is a directory",
			setup: func(t *testing.T, dir string) { mkdir(t, dir, "secrets/dir") },
			doc:   "auth: {tokens: [{name: ops, role: admin, file: secrets/dir}]}\n",
			field: "auth.tokens[0].file",
		},
		{
			name:  "empty file",
			setup: func(t *testing.T, dir string) { write(t, dir, "secrets/empty", "\n") },
			doc:   "auth: {tokens: [{name: ops, role: admin, file: secrets/empty}]}\n",
			field: "auth.tokens[0]",
		},
		{
			name: "same value twice",
			setup: func(t *testing.T, dir string) {
				t.Setenv("TEST_ONEX_CI", secret)
				write(t, dir, "secrets/ops", secret+"\n")
			},
			doc:   "auth: {tokens: [{name: ci, role: invoke, env: TEST_ONEX_CI}, {name: ops, role: admin, file: secrets/ops}]}\n",
			field: "auth.tokens[1]",
		},
		{
			name: "unreadable after a good one",
			setup: func(t *testing.T, dir string) {
				t.Setenv("TEST_ONEX_CI", secret)
				p := write(t, dir, "secrets/ops", secret+"-other")
				require.NoError(t, os.Chmod(p, 0))
				if b, err := os.ReadFile(p); err == nil && len(b) > 0 {
					t.Skip("running as root: file modes do not stop reads")
				}
			},
			doc:   "auth: {tokens: [{name: ci, role: invoke, env: TEST_ONEX_CI}, {name: ops, role: admin, file: secrets/ops}]}\n",
			field: "auth.tokens[1].file",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			f, err := loadDoc(t, dir, tc.doc)
			require.NoError(t, err, "Load does not read tokens")
			_, err = f.Tokens()
			var fe *config.FieldError
			require.ErrorAs(t, err, &fe, "%v", err)
			assert.Equal(t, tc.field, fe.Field)
			assert.NotContains(t, err.Error(), secret)
			assert.NotContains(t, fmt.Sprintf("%+v %#v", err, fe), secret)
		})
	}
}

func TestFile_Tokens_NeverInErrors(t *testing.T) {
	// A config that fails after its tokens were set up: no error anywhere shows them.
	const secret = "leak-canary-0c55e2"
	dir := t.TempDir()
	write(t, dir, "secrets/ops", secret)
	t.Setenv("TEST_ONEX_CANARY", secret)
	docs := []string{
		"auth: {tokens: [{name: ci, role: root, env: TEST_ONEX_CANARY}]}\n",
		"auth: {tokens: [{name: ci, role: invoke, env: TEST_ONEX_CANARY, file: secrets/ops}]}\n",
		"auth: {tokens: [{name: ci, role: invoke, env: TEST_ONEX_CANARY}, {name: ops, role: admin, file: secrets/ops}]}\n",
		"auth: {tokens: [{name: ci, role: invoke, file: " + filepath.Join(dir, "secrets", "ops", "x") + "}]}\n",
	}
	for _, doc := range docs {
		f, err := loadDoc(t, dir, doc)
		if err == nil {
			_, err = f.Tokens()
		}
		require.Error(t, err, doc)
		assert.NotContains(t, err.Error(), secret, doc)
	}
}
