package host

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/capability/httpcap"
	xflavour "github.com/onexhost/onex-host/host/internal/extism"
	"github.com/onexhost/onex-host/host/internal/guest"
	"github.com/onexhost/onex-host/host/internal/snapshot"
)

// compileExtism returns the Extism compiled plugin for wasm (see xflavour.Compile),
// compiling it at most once per key (digest, memory limit, metered) while any Plugin uses
// it; release each with releaseExtism. Grants and config are per Plugin: they are set on
// each instance. The host's compilation cache outlives the compiled plugins: Host.Close
// closes the plugins first.
func (h *Host) compileExtism(ctx context.Context, key compiledKey, wasm []byte) (*extism.CompiledPlugin, error) {
	return h.extisms.acquire(key, func() (c *extism.CompiledPlugin, err error) {
		if key.snapshot {
			if wasm, err = xflavour.PreInitialize(ctx, h.compCache, wasm, DefaultTimeout); err != nil {
				return nil, err
			}
		}
		err = h.tracked(key, "extism", func() error {
			c, err = xflavour.Compile(ctx, h.compCache, wasm, key.pages, key.metered,
				DefaultExtismMaxVarBytes, DefaultExtismMaxHTTPResponseBytes)
			return err
		})
		return c, err
	})
}

// releaseExtism drops one reference and closes the compiled plugin with the last.
func (h *Host) releaseExtism(key compiledKey) { h.extisms.release(key) }

// loadExtism builds the node manifest from the sidecar or the exports, checks imports and
// grants, compiles through Extism and fills the pool.
func (p *Plugin) loadExtism(ctx context.Context, path string, wasm []byte, pc PluginConfig) error {
	fail := func(kind error, cause error, format string, args ...any) error {
		return &PluginError{Plugin: p.name, Op: "load", Kind: kind, Message: fmt.Sprintf(format, args...), Cause: cause}
	}
	node := pc.Extism.Node
	if node == nil && path != "" {
		n, err := ReadExtismNode(SidecarPath(path))
		if err != nil {
			return fail(ErrInvalidManifest, err, "sidecar %s", strings.Replace(err.Error(), ErrInvalidManifest.Error()+": ", "", 1))
		}
		node = n
	}
	if node == nil {
		node = &ExtismNode{}
	}
	if err := xflavour.CheckImports(p.compiled, p.eng.wasiNames); err != nil {
		return fail(ErrUnknownImport, nil, "%s", err)
	}
	callable := extismEntryPoints(p.compiled.ExportedFunctions())
	if len(callable) == 0 {
		return fail(ErrInvalidModule, nil, "the Extism module exports no function Extism can call (no parameters, no or one i32 result)")
	}
	m, table, err := node.manifest(p.name, p.digest, callable)
	if err != nil {
		err.(*PluginError).Plugin = p.name
		return err
	}
	if out := pc.Extism.Output; out != "" && m.Kind != abi.KindReducer {
		if !out.valid() {
			return fail(ErrInvalidManifest, nil, "output encoding %q is not json, text or base64", out)
		}
		for name, e := range table {
			e.Output = out
			table[name] = e
		}
	}
	p.manifest = m
	p.name = m.Name
	p.logger = p.host.cfg.Logger.With("plugin", m.Name)
	for _, c := range m.Capabilities {
		switch {
		case c == abi.CapabilityFS && len(p.grants.Paths) == 0:
			return fail(ErrCapabilityDenied, nil, "the node needs fs, and no path is granted (--allow-path DIR[:ro])")
		case c == abi.CapabilityHTTP && len(p.grants.Hosts) == 0:
			return fail(ErrCapabilityDenied, nil, "the node needs http, and no host is granted (--allow-host PATTERN)")
		}
	}
	// Extism's allowed_hosts matches host names only: a host:port grant would match
	// nothing there, or every port if the port were dropped. Refuse it.
	for _, h := range p.grants.Hosts {
		if _, port, _ := httpcap.ParsePattern(h); port != "" {
			return fail(ErrInvalidModule, nil, "host grant %q: Extism plugins take host names without a port (Extism's allowed_hosts has no ports)", h)
		}
	}
	if p.limits, err = p.host.cfg.resolve(pc, m.Timeout()); err != nil {
		return fail(ErrInvalidModule, err, "%v", err)
	}
	p.offers = make(map[string]string, len(table))
	p.entries = table
	for name, e := range table {
		p.offers[name] = e.Export
	}
	x := &xflavour.Code{
		Plugin:               (*guestPlugin)(p),
		Config:               maps.Clone(node.Config),
		AllowedHosts:         p.grants.Hosts,
		MaxVarBytes:          extismLimit(pc.Extism.MaxVarBytes, DefaultExtismMaxVarBytes),
		MaxHTTPResponseBytes: extismLimit(pc.Extism.MaxHTTPResponseBytes, DefaultExtismMaxHTTPResponseBytes),
	}
	if x.Config == nil {
		x.Config = map[string]string{}
	}
	if err := p.setConfig(&p.manifest, pc, true); err != nil {
		return err
	}
	// Extism guests read config through Extism's config_get, secrets included.
	maps.Copy(x.Config, p.config.Load().values)
	x.ModConfig = p.host.extismModConfig
	if len(p.grants.Paths) > 0 {
		fs := wazero.NewFSConfig()
		for _, g := range p.grants.Paths {
			if g.ReadOnly {
				fs = fs.WithReadOnlyDirMount(g.Dir, g.guestPath())
			} else {
				fs = fs.WithDirMount(g.Dir, g.guestPath())
			}
		}
		x.ModConfig = x.ModConfig.WithFSConfig(fs)
	}

	// The native compilation only served detection: drop it, compile through Extism,
	// metered unless the plugin asks to run guarded or its module cannot be metered.
	p.release()
	p.compiled, p.release = nil, func() {}
	key := compiledKey{digest: p.digest, pages: p.key.pages, metered: p.limits.execution == ExecutionMetered, snapshot: p.limits.snapshot}
	xc, err := p.host.compileExtism(ctx, key, wasm)
	if key.snapshot && errors.Is(err, snapshot.ErrUnsupported) {
		p.logger.Info("plugin runs without a snapshot", "reason", err)
		key.snapshot = false
		xc, err = p.host.compileExtism(ctx, key, wasm)
	}
	if key.metered && errors.Is(err, xflavour.ErrNotMeterable) {
		p.logger.Info("plugin runs guarded: it cannot be metered", "reason", err)
		key.metered = false
		xc, err = p.host.compileExtism(ctx, key, wasm)
	}
	if err != nil {
		return fail(ErrInvalidModule, err, "extism: %v", err)
	}
	p.key, p.metered = key, key.metered
	p.extism, p.release = xc, func() { p.host.releaseExtism(key) }
	x.Compiled, x.Metered = xc, key.metered
	xflavour.SetLogLevel(p.host.cfg.Logger)

	return p.startPool(ctx, func(ctx context.Context) (guest.Instance, error) {
		xi, err := x.NewInstance(ctx)
		if err != nil {
			return nil, err
		}
		return xi, nil
	}, nil)
}

// extismLimit resolves a byte limit: 0 → def, negative → 0 (disabled).
func extismLimit(v, def int64) int64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	default:
		return v
	}
}
