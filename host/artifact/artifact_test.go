package artifact_test

import (
	"context"
	"crypto/ed25519"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/artifact"
	"github.com/onexhost/onex-host/host/signature"
)

// fixture is a registry served in-process, a client with its own store, and a plugin
// file with a sidecar, signed.
type fixture struct {
	srv    *httptest.Server
	tamper atomic.Pointer[string] // a blob digest whose bytes the registry alters
	client *artifact.Client
	wasm   string
	pub    ed25519.PublicKey
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		d := f.tamper.Load()
		if d == nil || req.Method != http.MethodGet || !strings.HasSuffix(req.URL.Path, "/blobs/"+*d) {
			inner.ServeHTTP(w, req)
			return
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, req)
		b := rec.Body.Bytes()
		b[len(b)-1] ^= 1
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(b)
	}))
	t.Cleanup(f.srv.Close)
	dir := t.TempDir()
	wasm := filepath.Join(dir, "echo.wasm")
	require.NoError(t, os.WriteFile(wasm, []byte("\x00asm\x01\x00\x00\x00 one"), 0o644))
	require.NoError(t, os.WriteFile(host.SidecarPath(wasm), []byte("computations: []\n"), 0o644))
	privPEM, pubPEM, err := signature.GenerateKey()
	require.NoError(t, err)
	priv, err := signature.ParsePrivateKey(privPEM)
	require.NoError(t, err)
	pub, err := signature.ParsePublicKey(pubPEM)
	require.NoError(t, err)
	sign(t, priv, wasm)
	f.client, f.wasm, f.pub = &artifact.Client{Store: filepath.Join(t.TempDir(), "store")}, wasm, pub
	return f
}

func sign(t *testing.T, priv ed25519.PrivateKey, wasm string) {
	module, err := os.ReadFile(wasm)
	require.NoError(t, err)
	node, err := os.ReadFile(host.SidecarPath(wasm))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(wasm+signature.Suffix, signature.Sign(priv, module, node), 0o644))
}

func (f *fixture) ref(t *testing.T, s string) artifact.Ref {
	r, err := artifact.ParseRef(artifact.Scheme + strings.TrimPrefix(f.srv.URL, "http://") + "/" + s)
	require.NoError(t, err)
	return r
}

func TestParseRef(t *testing.T) {
	r, err := artifact.ParseRef("oci://ghcr.io/acme/echo:1.0")
	require.NoError(t, err)
	assert.Equal(t, artifact.Ref{Registry: "ghcr.io", Repository: "acme/echo", Tag: "1.0"}, r)
	d := "sha256:" + strings.Repeat("ab", 32)
	r, err = artifact.ParseRef("localhost:5000/echo@" + d)
	require.NoError(t, err)
	assert.Equal(t, artifact.Ref{Registry: "localhost:5000", Repository: "echo", Digest: d}, r)
	assert.Equal(t, "localhost:5000/echo@"+d, r.String())
	for _, bad := range []string{"oci://ghcr.io/acme/echo", "oci://echo:1", "oci://ghcr.io/echo@sha256:12"} {
		_, err := artifact.ParseRef(bad)
		assert.Error(t, err, bad)
	}
	assert.True(t, artifact.IsRef("oci://x/y:z"))
	assert.False(t, artifact.IsRef("plugins/echo.wasm"))
}

func TestPushPull(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	md, err := f.client.Push(ctx, f.wasm, f.ref(t, "acme/echo:1"), map[string]string{artifact.AnnotationName: "echo"})
	require.NoError(t, err)

	module, _ := os.ReadFile(f.wasm)
	for _, ref := range []string{"acme/echo:1", "acme/echo@" + md, "acme/echo:1@" + md} {
		a, err := f.client.Pull(ctx, f.ref(t, ref))
		require.NoError(t, err, ref)
		assert.Equal(t, md, a.ManifestDigest)
		assert.Equal(t, module, a.Module)
		assert.Equal(t, "computations: []\n", string(a.Node))
		assert.NotNil(t, a.Signature)
		assert.False(t, a.Offline)
		got, err := os.ReadFile(a.Path)
		require.NoError(t, err)
		assert.Equal(t, module, got)
		assert.Equal(t, "echo.wasm", filepath.Base(a.Path))
		assert.FileExists(t, host.SidecarPath(a.Path))
		assert.FileExists(t, a.Path+signature.Suffix)
	}

	// A tag bound to another digest than the one asked for is refused.
	_, err = f.client.Pull(ctx, f.ref(t, "acme/echo:1@sha256:"+strings.Repeat("0", 64)))
	require.Error(t, err)

	// Offline: the store serves what was pulled before.
	f.srv.Close()
	a, err := f.client.Pull(ctx, f.ref(t, "acme/echo:1"))
	require.NoError(t, err)
	assert.True(t, a.Offline)
	assert.Equal(t, module, a.Module)
	_, err = f.client.Pull(ctx, f.ref(t, "acme/other:1"))
	require.Error(t, err, "never pulled, registry down")
}

func TestPull_TamperedBlobRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	_, err := f.client.Push(ctx, f.wasm, f.ref(t, "acme/echo:1"), nil)
	require.NoError(t, err)
	a, err := f.client.Pull(ctx, f.ref(t, "acme/echo:1"))
	require.NoError(t, err)

	module, _ := os.ReadFile(f.wasm)
	blob := filepath.Join(f.client.Store, "blobs", "sha256", strings.TrimPrefix(a.ModuleDigest(), "sha256:"))
	tampered := append([]byte{}, module...)
	tampered[len(tampered)-1] ^= 1
	require.NoError(t, os.WriteFile(blob, tampered, 0o644))

	// Online (the store already holds the manifest, so nothing is fetched again) and
	// offline, the store's blob is checked.
	_, err = f.client.Pull(ctx, f.ref(t, "acme/echo:1"))
	require.ErrorContains(t, err, "digest")
	f.srv.Close()
	_, err = f.client.Pull(ctx, f.ref(t, "acme/echo:1"))
	require.ErrorContains(t, err, "digest")
}

func TestResolve_Policy(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	md, err := f.client.Push(ctx, f.wasm, f.ref(t, "acme/echo:signed"), nil)
	require.NoError(t, err)
	module, _ := os.ReadFile(f.wasm)
	trusted := signature.Policy{Trusted: []ed25519.PublicKey{f.pub}, Digest: signature.Digest(module)}
	src := artifact.Scheme + f.ref(t, "acme/echo@"+md).String()

	path, digest, err := f.client.Resolve(ctx, src, trusted)
	require.NoError(t, err)
	assert.Equal(t, signature.Digest(module), digest)
	assert.FileExists(t, path)
	_, _, err = f.client.Resolve(ctx, f.wasm, trusted)
	require.NoError(t, err, "the file, signed, next to its sidecar")

	// Unsigned: the same plugin pushed without its signature file.
	require.NoError(t, os.Remove(f.wasm+signature.Suffix))
	_, err = f.client.Push(ctx, f.wasm, f.ref(t, "acme/echo:unsigned"), nil)
	require.NoError(t, err)
	_, _, err = f.client.Resolve(ctx, artifact.Scheme+f.ref(t, "acme/echo:unsigned").String(), trusted)
	require.ErrorIs(t, err, signature.ErrUnsigned)
	_, _, err = f.client.Resolve(ctx, f.wasm, trusted)
	require.ErrorIs(t, err, signature.ErrUnsigned)

	// Wrongly signed: by a key not trusted.
	otherPEM, _, err := signature.GenerateKey()
	require.NoError(t, err)
	other, err := signature.ParsePrivateKey(otherPEM)
	require.NoError(t, err)
	sign(t, other, f.wasm)
	_, err = f.client.Push(ctx, f.wasm, f.ref(t, "acme/echo:wrong"), nil)
	require.NoError(t, err)
	_, _, err = f.client.Resolve(ctx, artifact.Scheme+f.ref(t, "acme/echo:wrong").String(), trusted)
	require.ErrorIs(t, err, signature.ErrBadSignature)

	// A pin on another build.
	pinned := signature.Policy{Digest: signature.Digest([]byte("another build"))}
	_, _, err = f.client.Resolve(ctx, src, pinned)
	require.ErrorIs(t, err, signature.ErrDigestMismatch)
	_, _, err = f.client.Resolve(ctx, f.wasm, pinned)
	require.ErrorIs(t, err, signature.ErrDigestMismatch)
}

// TestPull_TamperedByRegistryRefused: a registry that serves other bytes under the
// module's digest is refused, and nothing is stored under the reference.
func TestPull_TamperedByRegistryRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r := f.ref(t, "acme/echo:1")
	_, err := f.client.Push(ctx, f.wasm, r, nil)
	require.NoError(t, err)
	module, _ := os.ReadFile(f.wasm)
	d := signature.Digest(module)
	f.tamper.Store(&d)
	_, err = f.client.Pull(ctx, r)
	require.ErrorContains(t, err, "mismatch")
	f.srv.Close()
	_, err = f.client.Pull(ctx, r)
	require.Error(t, err, "not in the store either")
}
