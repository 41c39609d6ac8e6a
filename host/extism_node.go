package host

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero/api"
	"go.yaml.in/yaml/v3"

	"github.com/onexhost/onex-host/abi"
)

// ExtismNode describes an Extism plugin as an ONEX compute node. Extism plugins carry no
// node manifest, so the operator supplies one: in a sidecar file next to the module
// (<name>.onex.yaml for <name>.wasm, read by LoadFile), in PluginConfig.Extism.Node, or
// not at all — then every exported function that Extism can call is a computation of
// encoding "text" (see DefaultExtismNode). It is a plain value; decode it with
// DecodeExtismNode so it is validated.
//
// The sidecar format (YAML; every field optional):
//
//	name: vowels                # default: the file name without .wasm, made a valid name
//	version: 1.0.0              # default: the first 12 hex digits of the module's SHA-256
//	description: counts vowels
//	deterministic: true         # results may be cached (default false)
//	idempotent: true
//	timeout_ms: 2000            # default: the host's timeout
//	kind: compute               # compute (default), reducer or orchestrator: see below
//	capabilities: [http]        # fs and http map onto Extism's allowed paths and hosts
//	config: {greeting: hello}   # Extism config defaults; the operator's values win
//	computations:               # default: every callable export
//	  - name: count             # the computation name callers use
//	    export: count_vowels    # the exported function (default: the name)
//	    input: text             # json, text (default) or base64; see Encoding
//	    output: json            # the same choice for the result
//	    description: ...
//
// encoding: sets input and output at once; input and output override it.
//
// With kind: reducer the node is a reducer (abi/SPEC.md section 9) and its computations are
// its reductions: each export takes a reduce input JSON object and returns a reduce output
// JSON object, so their encodings must be json (the default then); capabilities are refused.
// With kind: orchestrator the node is an orchestrator (abi/SPEC.md section 10) and its
// computations are its workflows: each export takes an orchestrate input JSON object and
// returns an orchestrate output JSON object, with the same rules.
type ExtismNode struct {
	Name          string              `yaml:"name" json:"name,omitempty"`
	Version       string              `yaml:"version" json:"version,omitempty"`
	Description   string              `yaml:"description" json:"description,omitempty"`
	Deterministic bool                `yaml:"deterministic" json:"deterministic,omitempty"`
	Idempotent    bool                `yaml:"idempotent" json:"idempotent,omitempty"`
	TimeoutMS     int64               `yaml:"timeout_ms" json:"timeout_ms,omitempty"`
	Kind          abi.Kind            `yaml:"kind" json:"kind,omitempty"` // compute (empty), reducer or orchestrator
	Capabilities  []abi.Capability    `yaml:"capabilities" json:"capabilities,omitempty"`
	Config        map[string]string   `yaml:"config" json:"config,omitempty"`
	Computations  []ExtismComputation `yaml:"computations" json:"computations,omitempty"`
}

// ExtismComputation maps a computation name onto an exported function.
type ExtismComputation struct {
	Name        string   `yaml:"name" json:"name"`
	Export      string   `yaml:"export" json:"export,omitempty"`
	Encoding    Encoding `yaml:"encoding" json:"encoding,omitempty"` // input and output
	Input       Encoding `yaml:"input" json:"input,omitempty"`
	Output      Encoding `yaml:"output" json:"output,omitempty"`
	Description string   `yaml:"description" json:"description,omitempty"`
}

// SidecarSuffix is appended to a module's path without its .wasm extension to find its
// sidecar: plugins/vowels.wasm → plugins/vowels.onex.yaml.
const SidecarSuffix = ".onex.yaml"

// SidecarPath returns the sidecar path for a module path.
func SidecarPath(wasmPath string) string {
	return strings.TrimSuffix(wasmPath, ".wasm") + SidecarSuffix
}

// maxSidecarSize bounds a sidecar file, like abi.MaxManifestSize bounds a manifest.
const maxSidecarSize = abi.MaxManifestSize

// ReadExtismNode reads and decodes the sidecar at path. A missing file returns
// (nil, nil); any other problem is an error naming the file.
func ReadExtismNode(path string) (*ExtismNode, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSidecarSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	n, err := DecodeExtismNode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &n, nil
}

// DecodeExtismNode parses a sidecar (YAML, or JSON, which is YAML) and checks what can be
// checked without the module: names, encodings, capabilities, timeout. Unknown fields are
// errors, so a typo does not silently drop a promise. Errors wrap ErrInvalidManifest.
func DecodeExtismNode(b []byte) (ExtismNode, error) {
	var n ExtismNode
	if len(b) > maxSidecarSize {
		return n, fmt.Errorf("%w: sidecar of %d bytes exceeds the %d-byte limit", ErrInvalidManifest, len(b), maxSidecarSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&n); err != nil && !errors.Is(err, io.EOF) {
		return ExtismNode{}, fmt.Errorf("%w: %v", ErrInvalidManifest, err)
	}
	jsonOnly := n.Kind == abi.KindReducer || n.Kind == abi.KindOrchestrator
	if n.Kind != "" && n.Kind != abi.KindCompute && !jsonOnly {
		return ExtismNode{}, fmt.Errorf("%w: kind %q is not compute, reducer or orchestrator (Extism plugins cannot be effect nodes)", ErrInvalidManifest, n.Kind)
	}
	for i, c := range n.Computations {
		for field, e := range map[string]Encoding{"encoding": c.Encoding, "input": c.Input, "output": c.Output} {
			if e != "" && !e.valid() {
				return ExtismNode{}, fmt.Errorf("%w: computations[%d].%s %q is not json, text or base64", ErrInvalidManifest, i, field, e)
			}
			if e != "" && e != EncodingJSON && jsonOnly {
				return ExtismNode{}, fmt.Errorf("%w: computations[%d].%s %q: a %s's entries take and return JSON", ErrInvalidManifest, i, field, e, n.Kind)
			}
		}
		if c.Export == "" && c.Name == "" {
			return ExtismNode{}, fmt.Errorf("%w: computations[%d] needs a name or an export", ErrInvalidManifest, i)
		}
	}
	// The rest is checked against the manifest rules once the module's name is known.
	return n, nil
}

// DefaultExtismNode is the node an Extism module gets without a sidecar: named after
// file (which may be empty), versioned by digest, not deterministic, with one "text"
// computation per callable export (see extismEntryPoints).
func DefaultExtismNode(file, digest string, exports []string) ExtismNode {
	n := ExtismNode{Name: nodeName(file), Version: shortDigest(digest)}
	for _, e := range exports {
		n.Computations = append(n.Computations, ExtismComputation{Export: e})
	}
	return n
}

// manifest completes n for a module and turns it into the node's abi.Manifest and the
// computation → Entry table. exports are the module's callable exports.
//
// Errors are *PluginError values (Op "load", Plugin unset) matching ErrInvalidManifest,
// or ErrUnsupported for a capability Extism plugins cannot have.
func (n ExtismNode) manifest(file, digest string, exports []string) (abi.Manifest, map[string]Entry, error) {
	bad := func(kind error, format string, args ...any) (abi.Manifest, map[string]Entry, error) {
		return abi.Manifest{}, nil, &PluginError{Op: "load", Kind: kind, Message: fmt.Sprintf(format, args...)}
	}
	if n.Name == "" {
		n.Name = nodeName(file)
	}
	if n.Version == "" {
		n.Version = shortDigest(digest)
	}
	if len(n.Computations) == 0 {
		n.Computations = DefaultExtismNode(file, digest, exports).Computations
	}
	kind, encoding := abi.KindCompute, EncodingText
	if n.Kind == abi.KindReducer || n.Kind == abi.KindOrchestrator {
		kind, encoding = n.Kind, EncodingJSON
	}
	m := abi.Manifest{Name: n.Name, Version: n.Version, Kind: kind, Description: n.Description,
		Deterministic: n.Deterministic, Idempotent: n.Idempotent, TimeoutMS: n.TimeoutMS, Capabilities: n.Capabilities}
	entries := make(map[string]Entry, len(n.Computations))
	for i, c := range n.Computations {
		if c.Export == "" {
			c.Export = c.Name
		}
		if c.Name == "" {
			c.Name = computationName(c.Export)
		}
		if !slices.Contains(exports, c.Export) {
			// A computation name (what inspect lists: "start" for "_start") stands for
			// the one export it is derived from.
			c.Export = exportNamed(exports, c.Export)
		}
		if !slices.Contains(exports, c.Export) {
			return bad(ErrInvalidManifest, "computations[%d].export %q is not a function Extism can call (callable exports: %v)",
				i, c.Export, exports)
		}
		e := Entry{Export: c.Export, Input: cmp.Or(c.Input, c.Encoding, encoding), Output: cmp.Or(c.Output, c.Encoding, encoding)}
		if _, dup := entries[c.Name]; dup {
			return bad(ErrInvalidManifest, "computations[%d].name %q is declared twice", i, c.Name)
		}
		entries[c.Name] = e
		m.Computations = append(m.Computations, abi.Computation{Name: c.Name, Description: c.Description})
	}
	if err := m.Validate(); err != nil {
		return bad(ErrInvalidManifest, "%s", strings.TrimPrefix(err.Error(), abi.ErrInvalidManifest.Error()+": "))
	}
	for _, c := range m.Capabilities {
		if c != abi.CapabilityFS && c != abi.CapabilityHTTP {
			return bad(ErrUnsupported, "capability %q: Extism plugins can use fs and http only", c)
		}
	}
	return m, entries, nil
}

// extismRuntimeExports are exports of language runtimes and toolchains, never computations.
var extismRuntimeExports = map[string]bool{
	"_initialize": true, "__wasm_call_ctors": true, "hs_init": true, "hs_exit": true,
	"malloc": true, "calloc": true, "realloc": true, "free": true,
}

// extismEntryPoints returns the exports Extism can call as computations: functions with
// no parameters and no or one i32 result, minus language-runtime exports. _start counts
// only when nothing else does (a command module built by Extism's Go guide, whose main is
// the one entry point).
func extismEntryPoints(defs map[string]api.FunctionDefinition) []string {
	var out []string
	hasStart := false
	for name, d := range defs {
		res := d.ResultTypes()
		callable := len(d.ParamTypes()) == 0 && (len(res) == 0 || len(res) == 1 && res[0] == api.ValueTypeI32)
		if !callable || extismRuntimeExports[name] || strings.HasPrefix(name, "asyncify_") {
			continue
		}
		if name == "_start" {
			hasStart = true
			continue
		}
		out = append(out, name)
	}
	if len(out) == 0 && hasStart {
		out = append(out, "_start")
	}
	slices.Sort(out)
	return out
}

// exportNamed returns the one export whose computation name is name, or name itself
// when there is none or more than one.
func exportNamed(exports []string, name string) string {
	found := name
	n := 0
	for _, e := range exports {
		if computationName(e) == name {
			found, n = e, n+1
		}
	}
	if n != 1 {
		return name
	}
	return found
}

// nodeName turns a file name into a valid node name: "Count_Vowels.wasm" → "count_vowels".
func nodeName(file string) string {
	base := strings.TrimSuffix(filepath.Base(file), ".wasm")
	if name := computationName(base); name != "" && file != "" {
		return name
	}
	return "extism-plugin"
}

// computationName turns an export name into a valid computation name: lowercase, runs of
// other characters as '_', no leading underscore ("_start" → "start", "sayHello" →
// "sayhello").
func computationName(export string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(export) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		case b.Len() > 0:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// shortDigest is "sha256:" plus 12 hex digits, for versions of unversioned modules.
func shortDigest(digest string) string {
	if len(digest) > len("sha256:")+12 {
		return digest[:len("sha256:")+12]
	}
	return digest
}
