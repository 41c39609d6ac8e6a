package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/server/config"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

const cliSecret = "cli-s3cr3t-9731"

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestConfig_SecretsNeverShown: a secret given on the command line, in the environment or
// through a serve file's from_env reaches the plugin, and appears in no output: run's,
// inspect's, a failed load's, serve's logs (at debug), the API's and the UI's.
// Not parallel: it sets the environment.
func TestConfig_SecretsNeverShown(t *testing.T) {
	wasm := goPlugin(t, "plugins/testdata/configured")
	t.Setenv("ONEX_SECRET_CONFIGURED_API_TOKEN", cliSecret)
	t.Setenv("TEST_FROM_ENV_TOKEN", cliSecret+"-file")

	t.Run("run, from the environment", func(t *testing.T) {
		code, stdout, stderr := cli(t, "", "run", wasm, "--type", "report", "--data", "{}", "--config", "greeting=hi")
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, sha256Hex(cliSecret))
		assert.Contains(t, stdout, `"greeting": "hi"`)
		assert.NotContains(t, stdout+stderr, cliSecret)
	})
	t.Run("call, from --config", func(t *testing.T) {
		code, stdout, stderr := cli(t, "", "call", wasm, "report", "--input", "{}", "--config", "api_token="+cliSecret+"-flag")
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, sha256Hex(cliSecret+"-flag"))
		assert.NotContains(t, stdout+stderr, cliSecret)
	})
	t.Run("inspect shows declarations, not values", func(t *testing.T) {
		code, stdout, stderr := cli(t, "", "inspect", wasm, "--config", "api_token="+cliSecret)
		require.Equal(t, 0, code, stderr)
		assert.Regexp(t, `api_token\s+required, secret`, stdout)
		assert.Regexp(t, `greeting\s+default "hello"`, stdout)
		code, stdout, stderr = cli(t, "", "inspect", "--json", wasm, "--config", "api_token="+cliSecret)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, `"secret": true`)
		assert.NotContains(t, stdout+stderr, cliSecret)
	})
	t.Run("errors name keys only", func(t *testing.T) {
		code, stdout, stderr := cli(t, "", "run", wasm, "--type", "report", "--data", "{}", "--config", "api_tokn="+cliSecret)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, `config key "api_tokn" is not declared`)
		assert.NotContains(t, stdout+stderr, cliSecret)
		code, stdout, stderr = cli(t, "", "run", wasm, "--type", "report", "--data", "{}", "--config", cliSecret)
		assert.Equal(t, 2, code)
		assert.NotContains(t, stdout+stderr, cliSecret)
	})
	t.Run("serve", func(t *testing.T) {
		addr := freeAddr(t)
		f, err := config.Load(writeConfig(t, fmt.Sprintf(`listen: %s
data_dir: ""
cache_dir: %s
log: {level: debug}
nodes:
  - path: %s
    config: {api_token: {from_env: TEST_FROM_ENV_TOKEN}, unit: kg}
`, addr, plugintest.CacheDir(), wasm)))
		require.NoError(t, err)
		logs := &syncBuffer{}
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: logs, logLevel: "debug"}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- serve(ctx, e, f, serveMode{}) }()
		waitReady(t, addr, logs)
		var bodies strings.Builder
		get := func(method, path, body string) {
			req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, 200, resp.StatusCode, "%s %s: %s", method, path, b)
			bodies.Write(b)
		}
		get("POST", "/v1/nodes/configured/compute", `{"computation_type":"report","data":{}}`)
		assert.Contains(t, bodies.String(), sha256Hex(cliSecret+"-file"), "from_env reached the plugin")
		assert.Contains(t, bodies.String(), `"unit":"kg"`)
		for _, p := range []string{"/v1/nodes", "/v1/nodes/configured", "/v1/status", "/ui", "/ui/config.json", "/metrics"} {
			get("GET", p, "")
		}
		cancel()
		require.NoError(t, <-done, "serve exits cleanly: %s", logs)
		assert.Contains(t, logs.String(), "token_len=", "debug logs were kept")
		assert.NotContains(t, bodies.String()+logs.String(), cliSecret)
	})
}
