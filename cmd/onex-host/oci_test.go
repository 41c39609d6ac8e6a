package main

import (
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/signature"
)

// TestOCI publishes a signed plugin to a registry served in-process and runs it from
// there by tag and by digest, with a pin and trusted keys; then refuses a pin mismatch,
// an unsigned and a wrongly signed plugin; then runs offline from the store.
func TestOCI(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	reg := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	wasm := filepath.Join(dir, "echo.wasm")
	module, err := os.ReadFile(fixture("wat/echo.wasm"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(wasm, module, 0o644))
	moduleDigest := signature.Digest(module)
	ok := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := cli(t, "", args...)
		require.Equal(t, 0, code, stderr)
		return stdout
	}
	runEcho := func(src string, extra ...string) (int, string) {
		t.Helper()
		code, stdout, stderr := cli(t, "", append([]string{"run", src, "--data", `"hi"`, "--data-dir", data}, extra...)...)
		if code == 0 {
			var out abi.ComputeOutput
			require.NoError(t, json.Unmarshal([]byte(stdout), &out))
			assert.JSONEq(t, `"hi"`, string(out.Result))
		}
		return code, stderr
	}

	key := filepath.Join(dir, "acme")
	ok("keygen", key)
	ok("sign", "--key", key+".key", wasm)
	ok("verify", "--trusted-key", key+".pub", "--digest", moduleDigest, wasm)
	out := ok("push", wasm, reg+"/acme/echo:1", "--cache-dir", cacheDir)
	byDigest, _, _ := strings.Cut(out, "\n")
	require.True(t, strings.HasPrefix(byDigest, "oci://"+reg+"/acme/echo@sha256:"), out)
	assert.Contains(t, out, "module "+moduleDigest)

	out = ok("pull", reg+"/acme/echo:1", "--data-dir", data, "--trusted-key", key+".pub")
	assert.Contains(t, out, filepath.Join(data, "store", "plugins"))
	out = ok("inspect", "oci://"+reg+"/acme/echo:1", "--data-dir", data, "--json")
	assert.Contains(t, out, moduleDigest)

	for _, src := range []string{"oci://" + reg + "/acme/echo:1", byDigest} {
		code, stderr := runEcho(src, "--digest", moduleDigest, "--trusted-key", key+".pub")
		require.Equal(t, 0, code, stderr)
	}

	out = ok("call", "oci://"+reg+"/acme/echo:1", "default", "--input", `"raw"`, "--data-dir", data, "--trusted-key", key+".pub")
	assert.Equal(t, `"raw"`, out)

	// A pin on another build.
	code, stderr := runEcho("oci://"+reg+"/acme/echo:1", "--digest", signature.Digest([]byte("other")))
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "digest mismatch")
	code, stderr = runEcho(wasm, "--digest", signature.Digest([]byte("other")))
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "digest mismatch")

	// Unsigned, and signed by a key not trusted.
	require.NoError(t, os.Remove(wasm+signature.Suffix))
	ok("push", wasm, reg+"/acme/echo:unsigned", "--cache-dir", cacheDir)
	code, stderr = runEcho("oci://"+reg+"/acme/echo:unsigned", "--trusted-key", key+".pub")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "unsigned")
	other := filepath.Join(dir, "other")
	ok("keygen", other)
	ok("sign", "--key", other+".key", wasm)
	ok("push", wasm, reg+"/acme/echo:wrong", "--cache-dir", cacheDir)
	code, stderr = runEcho("oci://"+reg+"/acme/echo:wrong", "--trusted-key", key+".pub")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "bad signature")

	// Misuse: a malformed reference, a malformed pin.
	code, _ = runEcho("oci://" + reg + "/acme/echo")
	assert.Equal(t, exitMisuse, code)
	code, _ = runEcho(wasm, "--digest", "sha256:abc")
	assert.Equal(t, exitMisuse, code)

	// Offline: the store serves what was pulled.
	srv.Close()
	code, stderr = runEcho("oci://"+reg+"/acme/echo:1", "--digest", moduleDigest, "--trusted-key", key+".pub")
	require.Equal(t, 0, code, stderr)
	code, _ = runEcho("oci://" + reg + "/acme/never:1")
	assert.Equal(t, exitFailure, code)
}
