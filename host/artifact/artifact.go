// Package artifact distributes plugins as OCI artifacts: references (oci://registry/
// repo:tag, oci://registry/repo@sha256:…), pushing a plugin to a registry, and pulling
// it into a local content-addressed store, which keeps serving what was pulled when the
// registry cannot be reached.
//
// # The artifact
//
// An OCI image manifest (image-spec 1.1) with artifactType ArtifactType, an empty
// config, and these layers, each titled (org.opencontainers.image.title) with its file
// name:
//
//   - the module, media type MediaTypeWasm (one, required);
//   - the Extism node description (the <name>.onex.yaml sidecar), MediaTypeNode, when the
//     plugin has one;
//   - the signature file (package signature), MediaTypeSignature, when the plugin is
//     signed. It signs the module and node digests, not the manifest, so it can travel
//     inside the artifact it signs.
//
// The plugin's manifest (name, version, kind, …) is copied into the manifest's
// annotations (Annotation*) by whoever pushes, for registries' UIs; loading never trusts
// annotations.
//
// # The store
//
// Store is an OCI image layout directory (blobs/sha256/<hex>, index.json) holding every
// pulled artifact, tagged by its full reference; plugins/<manifest hex>/ holds each
// pulled artifact's files as the host loads them (<name>.wasm, its sidecar and signature).
// Every blob read from the layout is checked against its digest.
package artifact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/signature"
)

// Media types of the artifact and its layers.
const (
	ArtifactType       = "application/vnd.onex.plugin.v1"
	MediaTypeWasm      = "application/vnd.wasm.content.layer.v1+wasm"
	MediaTypeNode      = "application/vnd.onex.node.v1+yaml"
	MediaTypeSignature = "application/vnd.onex.signature.v1+json"
)

// Annotations of the manifest, set by push from the plugin's manifest.
const (
	AnnotationName         = "dev.onex.plugin.name"
	AnnotationVersion      = "dev.onex.plugin.version"
	AnnotationKind         = "dev.onex.plugin.kind"
	AnnotationManifest     = "dev.onex.plugin.manifest" // the manifest as JSON
	AnnotationModuleDigest = "dev.onex.plugin.module-digest"
)

// MaxLayerBytes bounds each layer read from the store (a module, a sidecar, a signature).
const MaxLayerBytes = 1 << 30

// Scheme prefixes a reference where a file path is also accepted.
const Scheme = "oci://"

// IsRef reports whether s names an artifact (oci://…) rather than a file.
func IsRef(s string) bool { return strings.HasPrefix(s, Scheme) }

// Ref is a parsed reference: registry/repository with a tag, a digest, or both
// (repo:tag@sha256:…, which pins the tag's target).
type Ref struct {
	Registry, Repository string
	Tag                  string // "" when only a digest is given
	Digest               string // the manifest's digest; "" when only a tag is given
}

// ParseRef parses "[oci://]registry/repository[:tag][@sha256:hex]"; a tag or a digest is
// required.
func ParseRef(s string) (Ref, error) {
	raw := strings.TrimPrefix(s, Scheme)
	var r Ref
	if name, dg, ok := strings.Cut(raw, "@"); ok {
		if _, err := digest.Parse(dg); err != nil {
			return r, fmt.Errorf("reference %q: %w", s, err)
		}
		r.Digest, raw = dg, name
	}
	ref, err := registry.ParseReference(raw)
	if err != nil {
		return r, fmt.Errorf("reference %q: %w", s, err)
	}
	r.Registry, r.Repository, r.Tag = ref.Registry, ref.Repository, ref.Reference
	if r.Tag == "" && r.Digest == "" {
		return r, fmt.Errorf("reference %q: want registry/repository:tag or registry/repository@sha256:…", s)
	}
	return r, nil
}

// String is the reference without the scheme.
func (r Ref) String() string {
	s := r.Registry + "/" + r.Repository
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// target is what to ask the registry for: the digest when pinned, else the tag.
func (r Ref) target() string {
	if r.Digest != "" {
		return r.Digest
	}
	return r.Tag
}

// Client pushes and pulls. The zero value is not usable; set Store.
type Client struct {
	// Store is the local store directory (<data dir>/store).
	Store string
	// Insecure allows plain HTTP to any registry. Without it only loopback registries
	// (localhost, 127.0.0.0/8, ::1) are reached over plain HTTP; others over HTTPS.
	Insecure bool
	// Credential resolves a registry's credentials. Default (nil): DefaultCredential.
	Credential auth.CredentialFunc
	// HTTP is the client to reach registries with. Default: a plain http.Client.
	HTTP *http.Client
}

// DefaultCredential takes credentials from ONEX_REGISTRY_USERNAME and
// ONEX_REGISTRY_PASSWORD when set (for every registry), else from the Docker config
// file ($DOCKER_CONFIG/config.json or ~/.docker/config.json, with its credential
// helpers), else none.
func DefaultCredential(ctx context.Context, hostport string) (auth.Credential, error) {
	if u, p := os.Getenv("ONEX_REGISTRY_USERNAME"), os.Getenv("ONEX_REGISTRY_PASSWORD"); u != "" || p != "" {
		return auth.Credential{Username: u, Password: p}, nil
	}
	st, err := credentials.NewStoreFromDocker(credentials.StoreOptions{})
	if err != nil {
		return auth.EmptyCredential, nil // no readable Docker config: anonymous
	}
	return credentials.Credential(st)(ctx, hostport)
}

// repository returns the remote repository of r.
func (c *Client) repository(r Ref) (*remote.Repository, error) {
	repo, err := remote.NewRepository(r.Registry + "/" + r.Repository)
	if err != nil {
		return nil, err
	}
	repo.PlainHTTP = c.Insecure || isLoopback(r.Registry)
	cred := c.Credential
	if cred == nil {
		cred = DefaultCredential
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{}
	}
	repo.Client = &auth.Client{Client: hc, Credential: cred, Cache: auth.NewCache()}
	return repo, nil
}

// isLoopback reports whether a registry's host is loopback.
func isLoopback(hostport string) bool {
	h := hostport
	if hh, _, err := net.SplitHostPort(hostport); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Push uploads the plugin at wasmPath to r (which needs a tag), with its sidecar
// (host.SidecarPath) and signature file (wasmPath + signature.Suffix) when they exist,
// and annotations on the manifest. It returns the manifest's digest.
func (c *Client) Push(ctx context.Context, wasmPath string, r Ref, annotations map[string]string) (string, error) {
	if r.Tag == "" {
		return "", fmt.Errorf("push %s: the reference needs a tag", r)
	}
	module, err := os.ReadFile(wasmPath)
	if err != nil {
		return "", err
	}
	mem := memory.New()
	var layers []ocispec.Descriptor
	add := func(mediaType, name string, b []byte) error {
		d := content.NewDescriptorFromBytes(mediaType, b)
		d.Annotations = map[string]string{ocispec.AnnotationTitle: name}
		layers = append(layers, d)
		return mem.Push(ctx, d, strings.NewReader(string(b)))
	}
	base := filepath.Base(wasmPath)
	if err := add(MediaTypeWasm, base, module); err != nil {
		return "", err
	}
	for _, f := range []struct{ path, mediaType string }{
		{host.SidecarPath(wasmPath), MediaTypeNode},
		{wasmPath + signature.Suffix, MediaTypeSignature},
	} {
		b, err := os.ReadFile(f.path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if err := add(f.mediaType, filepath.Base(f.path), b); err != nil {
			return "", err
		}
	}
	ann := map[string]string{AnnotationModuleDigest: signature.Digest(module)}
	for k, v := range annotations {
		ann[k] = v
	}
	desc, err := oras.PackManifest(ctx, mem, oras.PackManifestVersion1_1, ArtifactType,
		oras.PackManifestOptions{Layers: layers, ManifestAnnotations: ann})
	if err != nil {
		return "", err
	}
	if err := mem.Tag(ctx, desc, r.Tag); err != nil {
		return "", err
	}
	repo, err := c.repository(r)
	if err != nil {
		return "", err
	}
	if _, err := oras.Copy(ctx, mem, r.Tag, repo, r.Tag, oras.DefaultCopyOptions); err != nil {
		return "", fmt.Errorf("push %s: %w", r, err)
	}
	return desc.Digest.String(), nil
}

// Artifact is a pulled plugin, checked against its digests.
type Artifact struct {
	Ref Ref
	// ManifestDigest is the artifact's manifest digest (what @sha256:… names).
	ManifestDigest string
	// Module, Node and Signature are the layers' contents; Node and Signature are nil
	// when absent.
	Module, Node, Signature []byte
	// Path is the module's file in the store, its sidecar and signature next to it.
	Path string
	// Offline is set when the registry could not be reached and the store served it.
	Offline bool
}

// ModuleDigest is the module's digest, as host.Plugin.Digest reports it.
func (a *Artifact) ModuleDigest() string { return signature.Digest(a.Module) }

// Pull fetches r into the store and returns it. When the registry cannot be reached
// (a network error), what the store holds under r is returned instead, with Offline set.
// Every blob is checked against its digest: a tampered blob is an error.
func (c *Client) Pull(ctx context.Context, r Ref) (*Artifact, error) {
	st, err := oci.NewWithContext(ctx, c.Store)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", c.Store, err)
	}
	repo, err := c.repository(r)
	if err != nil {
		return nil, err
	}
	name := r.String()
	offline := false
	desc, err := oras.Copy(ctx, repo, r.target(), st, name, oras.DefaultCopyOptions)
	if err != nil {
		if _, ok := errors.AsType[*url.Error](err); !ok {
			return nil, fmt.Errorf("pull %s: %w", r, err)
		}
		d, serr := st.Resolve(ctx, name)
		if serr != nil {
			return nil, fmt.Errorf("pull %s: %w (and not in the store %s)", r, err, c.Store)
		}
		desc, offline = d, true
	}
	if r.Digest != "" && desc.Digest.String() != r.Digest {
		return nil, fmt.Errorf("pull %s: got manifest %s", r, desc.Digest)
	}
	a, err := c.open(ctx, st, desc)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", r, err)
	}
	a.Ref, a.Offline = r, offline
	return a, nil
}

// open reads the artifact desc from the store, checking every blob, and writes its files
// under plugins/.
func (c *Client) open(ctx context.Context, st *oci.Store, desc ocispec.Descriptor) (*Artifact, error) {
	raw, err := content.FetchAll(ctx, st, desc)
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	if m.ArtifactType != ArtifactType {
		return nil, fmt.Errorf("manifest %s: artifactType %q, want %q (pushed by onex-host push?)", desc.Digest, m.ArtifactType, ArtifactType)
	}
	a := &Artifact{ManifestDigest: desc.Digest.String()}
	names := map[string]string{}
	for _, l := range m.Layers {
		var dst *[]byte
		switch l.MediaType {
		case MediaTypeWasm:
			dst = &a.Module
		case MediaTypeNode:
			dst = &a.Node
		case MediaTypeSignature:
			dst = &a.Signature
		default:
			continue
		}
		if *dst != nil {
			return nil, fmt.Errorf("manifest %s: two %s layers", desc.Digest, l.MediaType)
		}
		if l.Size < 0 || l.Size > MaxLayerBytes {
			return nil, fmt.Errorf("layer %s: %d bytes; at most %d", l.Digest, l.Size, MaxLayerBytes)
		}
		b, err := content.FetchAll(ctx, st, l) // checks size and digest
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", l.Digest, err)
		}
		*dst = b
		names[l.MediaType] = filepath.Base(l.Annotations[ocispec.AnnotationTitle])
	}
	if a.Module == nil {
		return nil, fmt.Errorf("manifest %s: no %s layer", desc.Digest, MediaTypeWasm)
	}
	base := names[MediaTypeWasm]
	if !strings.HasSuffix(base, ".wasm") || base == ".wasm" {
		base = "plugin.wasm"
	}
	dir := filepath.Join(c.Store, "plugins", desc.Digest.Encoded())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	a.Path = filepath.Join(dir, base)
	files := map[string][]byte{a.Path: a.Module, host.SidecarPath(a.Path): a.Node, a.Path + signature.Suffix: a.Signature}
	for p, b := range files {
		if b == nil {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
			continue
		}
		if err := writeFile(p, b); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// writeFile writes b to path through a temporary file and a rename.
func writeFile(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}

// Resolve returns the file to load for src, a plugin file or an oci:// reference
// (pulled first; see Pull), after checking it against policy: a signature.Error when it
// fails. digest is the module's digest, which the loaded plugin must report (the file
// could change between this check and the load); "" when the policy is the zero
// Policy and src is a file, which is then not read here.
func (c *Client) Resolve(ctx context.Context, src string, policy signature.Policy) (path, digest string, err error) {
	if IsRef(src) {
		r, err := ParseRef(src)
		if err != nil {
			return "", "", err
		}
		a, err := c.Pull(ctx, r)
		if err != nil {
			return "", "", err
		}
		if err := policy.Check(a.Module, a.Node, a.Signature); err != nil {
			return "", "", fmt.Errorf("%s: %w", src, err)
		}
		return a.Path, a.ModuleDigest(), nil
	}
	if policy.Digest == "" && len(policy.Trusted) == 0 {
		return src, "", nil
	}
	module, err := os.ReadFile(src)
	if err != nil {
		return "", "", err
	}
	node, err := readOptional(host.SidecarPath(src))
	if err != nil {
		return "", "", err
	}
	sig, err := readOptional(src + signature.Suffix)
	if err != nil {
		return "", "", err
	}
	if err := policy.Check(module, node, sig); err != nil {
		return "", "", fmt.Errorf("%s: %w", src, err)
	}
	return src, signature.Digest(module), nil
}

// readOptional reads path; a missing file is nil, no error.
func readOptional(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}
