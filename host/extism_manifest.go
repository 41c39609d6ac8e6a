package host

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ExtismManifest is the part of Extism's manifest format (JSON) this host honours, so
// that a plugin written for Extism runs with the manifest it ships with:
//
//	{"wasm": [{"path": "plugin.wasm", "hash": "<sha256 hex>"}],
//	 "allowed_hosts": ["api.example.com"],
//	 "allowed_paths": {"data": "/mnt", "ro:/srv/ref": "/ref"},
//	 "config": {"key": "value"},
//	 "memory": {"max_pages": 16, "max_var_bytes": 1024, "max_http_response_bytes": 4096},
//	 "timeout_ms": 1000}
//
// Only one wasm entry, by local path (relative to the manifest's directory): a url or
// inline data is refused (the host fetches nothing). An allowed_paths key prefixed ro:
// mounts read-only, as in Extism. Unknown fields are errors. Decode with
// ReadExtismManifest; Apply turns it into a PluginConfig.
type ExtismManifest struct {
	Wasm         []ExtismWasm      `json:"wasm"`
	AllowedHosts []string          `json:"allowed_hosts,omitempty"`
	AllowedPaths map[string]string `json:"allowed_paths,omitempty"`
	Config       map[string]string `json:"config,omitempty"`
	Memory       *struct {
		MaxPages             uint32 `json:"max_pages,omitempty"`
		MaxVarBytes          int64  `json:"max_var_bytes,omitempty"`
		MaxHTTPResponseBytes int64  `json:"max_http_response_bytes,omitempty"`
	} `json:"memory,omitempty"`
	TimeoutMS uint64 `json:"timeout_ms,omitempty"`

	dir string // the manifest's directory
}

// ExtismWasm is one wasm entry of an ExtismManifest. URL and Data are decoded only to be
// refused with a clear message.
type ExtismWasm struct {
	Path    string            `json:"path,omitempty"`
	Hash    string            `json:"hash,omitempty"`
	Name    string            `json:"name,omitempty"`
	URL     string            `json:"url,omitempty"`
	Data    string            `json:"data,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Method  string            `json:"method,omitempty"`
}

// IsExtismManifest reports whether path names an Extism manifest (a .json file) rather
// than a module.
func IsExtismManifest(path string) bool { return strings.HasSuffix(strings.ToLower(path), ".json") }

// ReadExtismManifest reads and checks the Extism manifest at path. Errors wrap
// ErrInvalidManifest and name the file.
func ReadExtismManifest(path string) (*ExtismManifest, error) {
	bad := func(format string, args ...any) (*ExtismManifest, error) {
		return nil, fmt.Errorf("%w: extism manifest %s: %s", ErrInvalidManifest, path, fmt.Sprintf(format, args...))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSidecarSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSidecarSize {
		return bad("larger than %d bytes", maxSidecarSize)
	}
	var m ExtismManifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return bad("%v", err)
	}
	if dec.More() {
		return bad("trailing data after the JSON object")
	}
	if len(m.Wasm) != 1 {
		return bad("want exactly one wasm entry, got %d (linking several modules is not supported)", len(m.Wasm))
	}
	w := m.Wasm[0]
	switch {
	case w.URL != "":
		return bad("wasm[0].url: the host fetches nothing; download the module and give its path")
	case w.Data != "":
		return bad("wasm[0].data: inline modules are not supported; give a path")
	case w.Path == "":
		return bad("wasm[0].path is required")
	}
	if m.Memory != nil && m.Memory.MaxPages > 65536 {
		return bad("memory.max_pages %d exceeds 65536 (4 GiB)", m.Memory.MaxPages)
	}
	if m.TimeoutMS > uint64(24*time.Hour/time.Millisecond) {
		return bad("timeout_ms %d exceeds a day", m.TimeoutMS)
	}
	for k := range m.Config {
		if k == "" {
			return bad("config: a key is empty")
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	m.dir = filepath.Dir(abs)
	return &m, nil
}

// WasmPath returns the module's path, relative paths taken from the manifest's
// directory, after checking the module's hash when the manifest gives one.
func (m *ExtismManifest) WasmPath() (string, error) {
	p := m.Wasm[0].Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(m.dir, p)
	}
	if want := m.Wasm[0].Hash; want != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, want) {
			return "", fmt.Errorf("%w: %s: sha256 %s, the manifest's hash is %s", ErrInvalidManifest, p, got, want)
		}
	}
	return p, nil
}

// Apply adds the manifest's settings to pc, which keeps what it sets itself: its config
// values win key by key, its grants are added to the manifest's, and its Timeout,
// MemoryLimit and Extism byte limits win when non-zero. Relative allowed_paths are taken
// from the manifest's directory. The plugin is loaded as an Extism plugin.
func (m *ExtismManifest) Apply(pc PluginConfig) PluginConfig {
	pc.Flavour = FlavourExtism
	cfg := make(map[string]string, len(m.Config)+len(pc.Config))
	for k, v := range m.Config {
		cfg[k] = v
	}
	for k, v := range pc.Config {
		cfg[k] = v
	}
	pc.Config = cfg
	var paths []PathGrant
	for hostDir, guest := range m.AllowedPaths {
		g := PathGrant{Dir: hostDir, Guest: guest}
		if d, ok := strings.CutPrefix(hostDir, "ro:"); ok {
			g.Dir, g.ReadOnly = d, true
		}
		if !filepath.IsAbs(g.Dir) {
			g.Dir = filepath.Join(m.dir, g.Dir)
		}
		paths = append(paths, g)
	}
	pc.Grants.Paths = append(paths, pc.Grants.Paths...)
	pc.Grants.Hosts = append(append([]string(nil), m.AllowedHosts...), pc.Grants.Hosts...)
	if pc.Timeout == 0 && m.TimeoutMS > 0 {
		pc.Timeout = time.Duration(m.TimeoutMS) * time.Millisecond
	}
	if mem := m.Memory; mem != nil {
		if pc.MemoryLimit == 0 && mem.MaxPages > 0 {
			pc.MemoryLimit = uint64(mem.MaxPages) * pageSize
		}
		if pc.Extism.MaxVarBytes == 0 {
			pc.Extism.MaxVarBytes = mem.MaxVarBytes
		}
		if pc.Extism.MaxHTTPResponseBytes == 0 {
			pc.Extism.MaxHTTPResponseBytes = mem.MaxHTTPResponseBytes
		}
	}
	return pc
}
