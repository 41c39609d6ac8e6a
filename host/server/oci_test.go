package server_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/artifact"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/host/server/config"
	"github.com/onexhost/onex-host/host/signature"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// ociFixture is a registry served in-process holding acme/versioned:live, signed, and
// a directory with the signing key's public half.
type ociFixture struct {
	reg, dir string
	priv     []byte // PEM
	client   *artifact.Client
}

func newOCIFixture(t *testing.T) *ociFixture {
	ts := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(ts.Close)
	f := &ociFixture{reg: strings.TrimPrefix(ts.URL, "http://"), dir: t.TempDir()}
	f.client = &artifact.Client{Store: filepath.Join(t.TempDir(), "pushstore")}
	priv, pub, err := signature.GenerateKey()
	require.NoError(t, err)
	f.priv = priv
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "acme.pub"), pub, 0o644))
	return f
}

// push publishes a versioned fixture (1 or 2) as acme/versioned:<tag>, signed when sign
// is set, and returns its module's digest.
func (f *ociFixture) push(t *testing.T, version int, tag string, sign bool) string {
	t.Helper()
	src := t.TempDir()
	wasm := filepath.Join(src, "versioned.wasm")
	copyFile(t, filepath.Join(plugintest.Root(), fmt.Sprintf("plugins/testdata/wat/versioned%d.wasm", version)), wasm)
	module, err := os.ReadFile(wasm)
	require.NoError(t, err)
	if sign {
		key, err := signature.ParsePrivateKey(f.priv)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(wasm+signature.Suffix, signature.Sign(key, module, nil), 0o644))
	}
	r, err := artifact.ParseRef(f.reg + "/acme/versioned:" + tag)
	require.NoError(t, err)
	_, err = f.client.Push(context.Background(), wasm, r, nil)
	require.NoError(t, err)
	return signature.Digest(module)
}

// specs writes a configuration file serving nodes (YAML flow entries) with the host-wide
// trusted key, and returns its nodes as specs.
func (f *ociFixture) specs(t *testing.T, nodes string) []server.NodeSpec {
	t.Helper()
	path := filepath.Join(f.dir, "onex.yaml")
	yaml := fmt.Sprintf("data_dir: %s\ntrusted_keys: [acme.pub]\nnodes: %s\n", filepath.Join(f.dir, "data"), nodes)
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o644))
	cf, err := config.Load(path)
	require.NoError(t, err)
	ns, err := cf.Nodes()
	require.NoError(t, err)
	var specs []server.NodeSpec
	for _, n := range ns {
		specs = append(specs, server.NodeSpec{Path: n.Path, Plugin: n.PluginConfig, Name: n.Name, Resolve: n.Resolve})
	}
	return specs
}

// TestServer_OCIReloadSwapsTag serves one artifact under two names, one pinned to its
// digest; then the tag moves to another build. Reloading the pinned node is refused and
// it keeps serving the old build; the unpinned one takes the new build while requests
// keep flowing, none failing, the old version drained.
func TestServer_OCIReloadSwapsTag(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newOCIFixture(t)
	v1 := f.push(t, 1, "live", true)
	ref := "oci://" + f.reg + "/acme/versioned:live"
	specs := f.specs(t, fmt.Sprintf("[{path: %q, name: pinned, digest: %q}, {path: %q, name: floating}]", ref, v1, ref))
	h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir("").
		WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	srv, url := serve(t, h, specs...)
	result := func(node string) string {
		var out abi.ComputeOutput
		(&fixture{url: url}).call(t, "POST", "/v1/nodes/"+node+"/compute", "", "", []byte(`{"computation_type":"default","cache_enabled":false}`), &out)
		return string(out.Result)
	}
	require.Equal(t, "1", result("pinned"))
	require.Equal(t, "1", result("floating"))

	f.push(t, 2, "live", true) // the tag now names another build

	_, err = srv.Reload(ctx, "pinned")
	require.ErrorIs(t, err, signature.ErrDigestMismatch)
	assert.Equal(t, "1", result("pinned"), "the pinned node keeps serving its build")

	var stop atomic.Bool
	var failures, calls atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				var out abi.ComputeOutput
				code := (&fixture{url: url}).call(t, "POST", "/v1/nodes/floating/compute", "", "", []byte(`{"computation_type":"default","cache_enabled":false}`), &out)
				if code != 200 || (string(out.Result) != "1" && string(out.Result) != "2") {
					failures.Add(1)
				}
				calls.Add(1)
			}
		})
	}
	digest, err := srv.Reload(ctx, "floating") // returns once the old version is drained and closed
	stop.Store(true)
	wg.Wait()
	require.NoError(t, err)
	assert.NotEqual(t, v1, digest)
	assert.Zero(t, failures.Load(), "of %d calls during the reload", calls.Load())
	assert.Equal(t, "2", result("floating"))
	assert.Equal(t, "1", result("pinned"))
}

// TestServer_OCIRefusedAtLoad: an unsigned plugin, one signed by another key, and a pin
// on another build are refused at load with typed errors.
func TestServer_OCIRefusedAtLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newOCIFixture(t)
	v1 := f.push(t, 1, "signed", true)
	f.push(t, 1, "unsigned", false)
	other := newOCIFixture(t) // another key
	f.priv = other.priv
	f.push(t, 1, "wrong", true)

	h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir("").
		WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close(ctx)) })
	ref := "oci://" + f.reg + "/acme/versioned:"
	for _, c := range []struct {
		nodes string
		kind  error
	}{
		{fmt.Sprintf("[{path: %q}]", ref+"unsigned"), signature.ErrUnsigned},
		{fmt.Sprintf("[{path: %q}]", ref+"wrong"), signature.ErrBadSignature},
		{fmt.Sprintf("[{path: %q, digest: %q}]", ref+"signed", signature.Digest([]byte("other"))), signature.ErrDigestMismatch},
	} {
		specs := f.specs(t, c.nodes)
		srv := server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler)})
		err = srv.Load(ctx, specs)
		require.ErrorIs(t, err, c.kind, c.nodes)
		require.ErrorIs(t, err, server.ErrLoad)
		var se *signature.Error
		require.ErrorAs(t, err, &se)
	}
	specs := f.specs(t, fmt.Sprintf("[{path: %q, digest: %q}]", ref+"signed", v1))
	srv := server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, srv.Load(ctx, specs))
	assert.Equal(t, []string{"versioned"}, srv.Names())
}
