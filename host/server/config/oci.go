package config

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/onexhost/onex-host/host/artifact"
	"github.com/onexhost/onex-host/host/signature"
)

// RegistrySettings say how to reach the registries of oci:// nodes.
type RegistrySettings struct {
	// Insecure allows plain HTTP to every registry; without it only loopback
	// registries are reached over plain HTTP.
	Insecure bool `yaml:"insecure"`
}

// Source is where a node's plugin comes from and what it must satisfy: Node.Path is a
// file or an oci:// reference, pulled into Store (data_dir/store) at every load.
type Source struct {
	// Policy is the node's digest pin and trusted keys (its own trusted_keys, else the
	// file's).
	Policy signature.Policy
	// Store is the local artifact store; "" without a data directory.
	Store string
	// Insecure is registry.insecure.
	Insecure bool
}

// Resolve returns the file to load for the node, pulling an oci:// reference (the
// store serves it when the registry is unreachable) and checking the pin and the
// signature; digest is what the loaded plugin must report ("" for any). It is
// server.NodeSpec.Resolve: every load and reload runs it, so a reload sees what the tag
// names now and keeps the pin. A refused plugin is a *signature.Error.
func (n Node) Resolve(ctx context.Context) (path, digest string, err error) {
	c := &artifact.Client{Store: n.Source.Store, Insecure: n.Source.Insecure}
	return c.Resolve(ctx, n.Path, n.Source.Policy)
}

// checkSource checks an entry's digest, trusted_keys and oci:// path.
func (f *File) checkSource(field string, e NodeEntry) error {
	if e.Digest != "" {
		if !validDigest(e.Digest) {
			return fieldErr(field+".digest", "%q: want sha256:<64 lowercase hex digits>", e.Digest)
		}
		if e.Dir != "" {
			return fieldErr(field+".digest", "a dir entry may hold several modules; pin path entries only")
		}
	}
	if artifact.IsRef(e.Path) {
		if _, err := artifact.ParseRef(e.Path); err != nil {
			return fieldErr(field+".path", "%v", err)
		}
		if f.DataDir == "" {
			return fieldErr(field+".path", "an oci:// node needs data_dir for its store")
		}
		if e.Extism.Node != "" {
			return fieldErr(field+".extism.node", "an oci:// node brings its node description; extism.node applies to files")
		}
	}
	for j, k := range e.TrustedKeys {
		if _, err := signature.ReadPublicKeys([]string{f.path(k)}); err != nil {
			return fieldErr(fmt.Sprintf("%s.trusted_keys[%d]", field, j), "%v", err)
		}
	}
	return nil
}

// checkTrustedKeys checks the file's trusted_keys.
func (f *File) checkTrustedKeys() error {
	for j, k := range f.TrustedKeys {
		if _, err := signature.ReadPublicKeys([]string{f.path(k)}); err != nil {
			return fieldErr(fmt.Sprintf("trusted_keys[%d]", j), "%v", err)
		}
	}
	return nil
}

// source is an entry's Source; its key files were checked by checkSource and
// checkTrustedKeys.
func (f *File) source(e NodeEntry) Source {
	keys := f.TrustedKeys
	if len(e.TrustedKeys) > 0 {
		keys = e.TrustedKeys
	}
	paths := make([]string, len(keys))
	for i, k := range keys {
		paths[i] = f.path(k)
	}
	trusted, _ := signature.ReadPublicKeys(paths)
	s := Source{Policy: signature.Policy{Digest: e.Digest, Trusted: trusted}, Insecure: f.Registry.Insecure}
	if f.DataDir != "" {
		s.Store = filepath.Join(f.path(f.DataDir), "store")
	}
	return s
}

// validDigest reports whether d is sha256:<64 lowercase hex digits>.
func validDigest(d string) bool {
	if len(d) != len("sha256:")+64 || d[:7] != "sha256:" {
		return false
	}
	for _, c := range d[7:] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
