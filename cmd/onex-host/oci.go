package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/artifact"
	"github.com/onexhost/onex-host/host/signature"
)

// ociFlags are the flags that say where a plugin may come from: a pin, trusted keys, and
// how to reach registries. Every command that loads a plugin has them.
type ociFlags struct {
	digest      string
	trustedKeys []string
	insecure    bool
}

func (o *ociFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.digest, "digest", "", "refuse the plugin unless its module's digest is this sha256:<hex> (as inspect shows it)")
	fs.StringArrayVar(&o.trustedKeys, "trusted-key", nil, "require a signature by this ed25519 public key file (PEM; repeatable: any of them)")
	o.registerInsecure(fs)
}

func (o *ociFlags) registerInsecure(fs *pflag.FlagSet) {
	fs.BoolVar(&o.insecure, "insecure-registry", false, "reach registries over plain HTTP (loopback registries always are)")
}

// storeDir is the local artifact store under a data directory.
func storeDir(dataDir string) (string, error) {
	if dataDir == "" {
		return "", errors.New("oci:// references need a data directory for the store (--data-dir)")
	}
	return filepath.Join(dataDir, "store"), nil
}

// client returns the artifact client of the store under dataDir.
func (o *ociFlags) client(dataDir string) (*artifact.Client, error) {
	dir, err := storeDir(dataDir)
	if err != nil {
		return nil, err
	}
	return &artifact.Client{Store: dir, Insecure: o.insecure}, nil
}

// policy is the signature.Policy the flags describe; an error is misuse.
func (o *ociFlags) policy() (signature.Policy, error) {
	p := signature.Policy{Digest: o.digest}
	if o.digest != "" && !validDigest(o.digest) {
		return p, fmt.Errorf("--digest %q: want sha256:<64 hex digits>", o.digest)
	}
	keys, err := signature.ReadPublicKeys(o.trustedKeys)
	if err != nil {
		return p, fmt.Errorf("--trusted-key: %w", err)
	}
	p.Trusted = keys
	return p, nil
}

// validDigest reports whether d is sha256:<64 lowercase hex digits>.
func validDigest(d string) bool {
	if len(d) != len("sha256:")+64 || d[:7] != "sha256:" {
		return false
	}
	for _, c := range d[7:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// resolve returns the file to load for src (a file or an oci:// reference, pulled into
// the store under dataDir) once it passes the pin and the trusted keys, and the digest
// the loaded plugin must have ("" for an unchecked file).
func (o *ociFlags) resolve(ctx context.Context, dataDir, src string) (path, digest string, err error) {
	p, err := o.policy()
	if err != nil {
		return "", "", err
	}
	dir := dataDir
	if !artifact.IsRef(src) {
		dir = "-" // unused: files need no store
	} else if _, err := artifact.ParseRef(src); err != nil {
		return "", "", err
	}
	c, err := o.client(dir)
	if err != nil {
		return "", "", err
	}
	path, digest, err = c.Resolve(ctx, src, p)
	if err != nil {
		if _, ok := errors.AsType[*os.PathError](err); ok && !artifact.IsRef(src) {
			return "", "", err // the file argument is wrong: misuse
		}
		return "", "", failure{err}
	}
	return path, digest, nil
}

// checkLoaded refuses a loaded plugin that is not the module resolve checked.
func checkLoaded(p *host.Plugin, digest string) error {
	if digest != "" && p.Digest() != digest {
		return failure{&signature.Error{Kind: signature.ErrDigestMismatch,
			Detail: fmt.Sprintf("the file changed after its check: loaded %s, checked %s", p.Digest(), digest)}}
	}
	return nil
}

// ociCommands are push, pull, keygen, sign and verify.
func ociCommands(e *env) []*cobra.Command {
	return []*cobra.Command{newPushCmd(e), newPullCmd(e), newKeygenCmd(e), newSignCmd(e), newVerifyCmd(e)}
}

func newPushCmd(e *env) *cobra.Command {
	var (
		o        ociFlags
		cacheDir string
	)
	cmd := &cobra.Command{
		Use:   "push <plugin.wasm> <registry>/<repository>:<tag>",
		Short: "Publish a plugin to an OCI registry",
		Long: "Load the plugin (every load-time check applies), then push it as an OCI artifact: the\n" +
			"module, its " + host.SidecarSuffix + " sidecar and its " + signature.Suffix + " signature file when\n" +
			"they exist, the manifest's name, version and kind as annotations. Prints the\n" +
			"reference by digest. Credentials come from ONEX_REGISTRY_USERNAME and\n" +
			"ONEX_REGISTRY_PASSWORD, else the Docker config file (docker login).\n" +
			"Exit status: 0 ok, 1 the plugin did not load or the push failed, 2 misuse.",
		Example: "  onex-host push bin/plugins/core.wasm ghcr.io/acme/core:1.0\n" +
			"  onex-host push echo.wasm localhost:5000/echo:dev",
		Args: exactArgs("<plugin.wasm> <registry>/<repository>:<tag>", 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ref, err := artifact.ParseRef(args[1])
			if err != nil {
				return err
			}
			if ref.Tag == "" {
				return fmt.Errorf("push: %s: the reference needs a tag", args[1])
			}
			hf := hostFlags{inspect: true, memoryLimit: "4GiB", cacheDir: cacheDir}
			h, p, err := hf.load(ctx, e, args[0], 1)
			if err != nil {
				return err
			}
			m := p.Manifest()
			_ = h.Close(context.Background())
			mj, err := json.Marshal(m)
			if err != nil {
				return failure{err}
			}
			ann := map[string]string{artifact.AnnotationName: m.Name, artifact.AnnotationVersion: m.Version,
				artifact.AnnotationKind: string(m.Kind), artifact.AnnotationManifest: string(mj)}
			c := &artifact.Client{Insecure: o.insecure}
			md, err := c.Push(ctx, args[0], ref, ann)
			if err != nil {
				return failure{err}
			}
			fmt.Fprintf(e.stdout, "%s%s/%s@%s\nmodule %s\n", artifact.Scheme, ref.Registry, ref.Repository, md, p.Digest())
			return nil
		},
	}
	o.registerInsecure(cmd.Flags())
	cmd.Flags().StringVar(&cacheDir, "cache-dir", host.DefaultCacheDir(), "compilation cache directory (\"\" disables it)")
	return cmd
}

func newPullCmd(e *env) *cobra.Command {
	var (
		o       ociFlags
		dataDir string
	)
	cmd := &cobra.Command{
		Use:   "pull <registry>/<repository>{:<tag> | @sha256:<hex>}",
		Short: "Fetch a plugin from an OCI registry into the local store",
		Long: "Pull a plugin artifact into <data dir>/store, an OCI image layout in which every blob\n" +
			"is checked against its digest, and print the module's path there and its digests.\n" +
			"run, call, inspect and serve pull oci:// references themselves; when the registry\n" +
			"cannot be reached, what the store holds serves. --digest and --trusted-key check\n" +
			"the plugin as loading it would.\n" +
			"Exit status: 0 ok, 1 the pull or a check failed, 2 misuse.",
		Example: "  onex-host pull ghcr.io/acme/core:1.0\n" +
			"  onex-host pull ghcr.io/acme/core@sha256:… --trusted-key acme.pub",
		Args: exactArgs("<reference>", 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src := args[0]
			if !artifact.IsRef(src) {
				src = artifact.Scheme + src
			}
			ref, err := artifact.ParseRef(src)
			if err != nil {
				return err
			}
			policy, err := o.policy()
			if err != nil {
				return err
			}
			c, err := o.client(dataDir)
			if err != nil {
				return err
			}
			a, err := c.Pull(cmd.Context(), ref)
			if err != nil {
				return failure{err}
			}
			if err := policy.Check(a.Module, a.Node, a.Signature); err != nil {
				return failure{fmt.Errorf("%s: %w", src, err)}
			}
			offline := ""
			if a.Offline {
				offline = " (offline: from the store)"
			}
			fmt.Fprintf(e.stdout, "%s\nmanifest %s\nmodule %s%s\n", a.Path, a.ManifestDigest, a.ModuleDigest(), offline)
			return nil
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&dataDir, "data-dir", host.DefaultDataDir(), "the data directory; the store is its store/ subdirectory")
	return cmd
}

func newKeygenCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "keygen <name>",
		Short: "Create an ed25519 key pair for signing plugins",
		Long: "Write <name>.key (the private key, PEM PKCS #8, mode 0600) and <name>.pub (the public\n" +
			"key, PEM PKIX), as openssl genpkey -algorithm ed25519 would. Neither file is\n" +
			"overwritten.",
		Example: "  onex-host keygen acme && onex-host sign --key acme.key echo.wasm",
		Args:    exactArgs("<name>", 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			priv, pub, err := signature.GenerateKey()
			if err != nil {
				return failure{err}
			}
			if err := writeNew(args[0]+".key", priv, 0o600); err != nil {
				return failure{err}
			}
			if err := writeNew(args[0]+".pub", pub, 0o644); err != nil {
				return failure{err}
			}
			fmt.Fprintf(e.stdout, "%s.key\n%s.pub\n", args[0], args[0])
			return nil
		},
	}
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	return errors.Join(werr, f.Close())
}

func newSignCmd(e *env) *cobra.Command {
	var keyPath string
	cmd := &cobra.Command{
		Use:   "sign --key <private.key> <plugin.wasm>",
		Short: "Sign a plugin (its module and its sidecar) with an ed25519 key",
		Long: "Write <plugin.wasm>" + signature.Suffix + ": an ed25519 signature over the module's digest and\n" +
			"its " + host.SidecarSuffix + " sidecar's (when there is one). push publishes it with the plugin;\n" +
			"--trusted-key (run, call, inspect, pull, verify) and trusted_keys (serve) check it.",
		Example: "  onex-host sign --key acme.key echo.wasm",
		Args:    exactArgs("<plugin.wasm>", 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kb, err := os.ReadFile(keyPath)
			if err != nil {
				return fmt.Errorf("--key: %w", err)
			}
			key, err := signature.ParsePrivateKey(kb)
			if err != nil {
				return fmt.Errorf("--key %s: %w", keyPath, err)
			}
			module, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			node, err := os.ReadFile(host.SidecarPath(args[0]))
			if errors.Is(err, os.ErrNotExist) {
				node, err = nil, nil
			}
			if err != nil {
				return failure{err}
			}
			out := args[0] + signature.Suffix
			if err := os.WriteFile(out, signature.Sign(key, module, node), 0o644); err != nil {
				return failure{err}
			}
			fmt.Fprintf(e.stdout, "%s\nkey %s\n", out, signature.KeyID(key.Public().(ed25519.PublicKey)))
			return nil
		},
	}
	cmd.Flags().StringVar(&keyPath, "key", "", "the private key file (PEM, from keygen)")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

func newVerifyCmd(e *env) *cobra.Command {
	var (
		o       ociFlags
		dataDir string
	)
	cmd := &cobra.Command{
		Use:   "verify --trusted-key <public.pub>... [--digest sha256:…] {<plugin.wasm> | oci://<reference>}",
		Short: "Check a plugin's signature (and pin) without loading it",
		Long: "Check that a plugin file (with its sidecar and " + signature.Suffix + " file) or a pulled\n" +
			"artifact is signed by one of the trusted keys and, with --digest, is that build.\n" +
			"Exit status: 0 ok, 1 refused, 2 misuse.",
		Example: "  onex-host verify --trusted-key acme.pub echo.wasm\n" +
			"  onex-host verify --trusted-key acme.pub oci://ghcr.io/acme/echo:1.0",
		Args: exactArgs("<plugin>", 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(o.trustedKeys) == 0 && o.digest == "" {
				return errors.New("verify: give --trusted-key (and/or --digest)")
			}
			_, digest, err := o.resolve(cmd.Context(), dataDir, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "ok %s\n", digest)
			return nil
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&dataDir, "data-dir", host.DefaultDataDir(), "the data directory (its store/ holds pulled artifacts)")
	return cmd
}

// localPath is src itself for a file, else the file an oci:// reference pulls into the
// store (checked as load checks it), for commands that read the sidecar before loading.
func (f *hostFlags) localPath(ctx context.Context, src string) (string, error) {
	if !artifact.IsRef(src) {
		return src, nil
	}
	path, _, err := f.oci.resolve(ctx, f.dataDir, src)
	return path, err
}
