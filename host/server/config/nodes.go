package config

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/artifact"
	"github.com/onexhost/onex-host/host/effect"
)

// Node is one plugin to serve, with its settings: a path entry of the file, or one
// *.wasm file of a dir entry. It is a plain value; each Node has its own copies of the
// grant and Extism slices and maps.
type Node struct {
	// Path is the plugin file, resolved against the configuration file's directory.
	Path string
	// PluginConfig is what to load it with (host.Host.LoadFile).
	PluginConfig host.PluginConfig
	// Effect is the effect.Config to serve it with, if it is an effect node.
	Effect effect.Config
	// Name is the name to serve the node under; "" means its manifest's name.
	Name string
	// Source is where Path comes from and what it must satisfy (oci.go).
	Source Source
	// FSM is an FSM contract file (resolved), for an fsm entry; Path is "" then.
	FSM string
	// Workflow is a workflow contract file (resolved), for a workflow entry; Path and
	// FSM are "" then. It is for the workflow engine, not a server.NodeSpec.
	Workflow string
}

// Nodes validates the node entries and returns one Node per path entry and per *.wasm
// file of each dir entry (in name order; subdirectories are not scanned), in the order
// of the entries. Relative paths are resolved; Extism sidecars named by extism.node are
// read and decoded. The error is a wrapped *FieldError naming the entry's field: a
// missing file or directory, a directory without *.wasm files, a plugin listed twice,
// an invalid sidecar.
func (f *File) Nodes() ([]Node, error) {
	nodes, err := f.nodes()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return nodes, nil
}

// nodes is Nodes without the "config: " prefix.
func (f *File) nodes() ([]Node, error) {
	var out []Node
	listed := make(map[string]string) // absolute plugin path → field that listed it
	for i, e := range f.NodeEntries {
		if err := f.checkEntry(i, e); err != nil {
			return nil, err
		}
		field := fmt.Sprintf("nodes[%d]", i)
		if e.Workflow != "" {
			abs, err := filepath.Abs(f.path(e.Workflow))
			if err != nil {
				return nil, fieldErr(field+".workflow", "%q: %v", e.Workflow, err)
			}
			if other, dup := listed[abs]; dup {
				return nil, fieldErr(field+".workflow", "%q is also listed by %s", e.Workflow, other)
			}
			listed[abs] = field + ".workflow"
			out = append(out, Node{Workflow: f.path(e.Workflow)})
			continue
		}
		if e.FSM != "" {
			abs, err := filepath.Abs(f.path(e.FSM))
			if err != nil {
				return nil, fieldErr(field+".fsm", "%q: %v", e.FSM, err)
			}
			if other, dup := listed[abs]; dup {
				return nil, fieldErr(field+".fsm", "%q is also listed by %s", e.FSM, other)
			}
			listed[abs] = field + ".fsm"
			out = append(out, Node{FSM: f.path(e.FSM), Name: e.Name})
			continue
		}
		var sidecar *host.ExtismNode
		if e.Extism.Node != "" {
			n, err := host.ReadExtismNode(f.path(e.Extism.Node))
			if err != nil {
				// The error names the file; YAML's lists its problems on lines of their own.
				return nil, fieldErr(field+".extism.node", "%s", strings.Join(strings.Fields(err.Error()), " "))
			}
			sidecar = n
		}
		var names []string // as written in the file
		if e.Path != "" {
			field += ".path"
			names = []string{e.Path}
		} else {
			field += ".dir"
			found, err := wasmFiles(f.path(e.Dir))
			if err != nil {
				return nil, fieldErr(field, "%q: %v", e.Dir, err)
			}
			if len(found) == 0 {
				return nil, fieldErr(field, "%q: no *.wasm files", e.Dir)
			}
			for _, name := range found {
				names = append(names, filepath.Join(e.Dir, name))
			}
		}
		for _, name := range names {
			if artifact.IsRef(name) {
				out = append(out, Node{Path: name, PluginConfig: f.pluginConfig(e, sidecar), Effect: effectConfig(e), Name: e.Name, Source: f.source(e)})
				continue
			}
			p := f.path(name)
			abs, err := filepath.Abs(p)
			if err != nil {
				return nil, fieldErr(field, "%q: %v", name, err)
			}
			if other, dup := listed[abs]; dup {
				return nil, fieldErr(field, "%q is also listed by %s", name, other)
			}
			listed[abs] = field
			pc := f.pluginConfig(e, sidecar)
			if host.IsExtismManifest(p) {
				// An Extism manifest stands for its module; the entry's settings win.
				m, err := host.ReadExtismManifest(p)
				if err == nil {
					p, err = m.WasmPath()
				}
				if err != nil {
					return nil, fieldErr(field, "%q: %v", name, err)
				}
				pc = m.Apply(pc)
			}
			out = append(out, Node{Path: p, PluginConfig: pc, Effect: effectConfig(e), Name: e.Name, Source: f.source(e)})
		}
	}
	return out, nil
}

// wasmFiles lists the names of the *.wasm files in dir (following symbolic links),
// sorted.
func wasmFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		if pe, ok := err.(*os.PathError); ok {
			err = pe.Err
		}
		return nil, err
	}
	var out []string
	for _, d := range entries {
		if !strings.HasSuffix(d.Name(), ".wasm") {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, d.Name())); err == nil && fi.Mode().IsRegular() {
			out = append(out, d.Name())
		}
	}
	return out, nil
}

// pluginConfig is an entry's host.PluginConfig, with fresh copies of its slices and map.
func (f *File) pluginConfig(e NodeEntry, sidecar *host.ExtismNode) host.PluginConfig {
	pc := host.PluginConfig{
		Timeout:      time.Duration(e.Timeout),
		MemoryLimit:  uint64(e.MemoryLimit),
		MaxInstances: e.MaxInstances,
		Prewarm:      e.Prewarm,
		CacheTTL:     time.Duration(e.CacheTTL),
		Execution:    host.Execution(e.Execution),
		Isolation:    host.Isolation(e.Isolation),
		Snapshot:     host.Snapshot(e.Snapshot),
		Fuel:         e.Fuel,
		// validate_input: false is the only way to turn the check off.
		SkipInputValidation: e.ValidateInput != nil && !*e.ValidateInput,
		Grants: host.Grants{
			Hosts:  slices.Clone(e.Grants.Hosts),
			KV:     e.Grants.KV,
			Events: e.Grants.Events,
		},
		Extism: host.ExtismConfig{Config: maps.Clone(e.Extism.Config)},
	}
	for _, p := range e.Grants.Paths {
		g, _ := host.ParsePathGrant(p) // checked by checkEntry
		g.Dir = f.path(g.Dir)
		pc.Grants.Paths = append(pc.Grants.Paths, g)
	}
	pc.Extism.Node = sidecar // only path entries have one, so it is never shared
	pc.Env = os.LookupEnv
	for k, v := range e.Config {
		if s, ok := v.lookup(); ok {
			if pc.Config == nil {
				pc.Config = make(map[string]string, len(e.Config))
			}
			pc.Config[k] = s
		}
	}
	return pc
}

// effectConfig is an entry's effect.Config.
func effectConfig(e NodeEntry) effect.Config {
	return effect.Config{
		Retry: effect.RetryPolicy{
			MaxRetries:       e.Retry.MaxRetries,
			BaseDelay:        time.Duration(e.Retry.BaseDelay),
			MaxDelay:         time.Duration(e.Retry.MaxDelay),
			Jitter:           e.Retry.Jitter,
			RetryBreakerOpen: e.Retry.RetryBreakerOpen,
		},
		Concurrency: e.Concurrency,
		Timeout:     time.Duration(e.EffectTimeout),
	}
}
