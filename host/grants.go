package host

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/capability/httpcap"
)

// Grants is what the operator allows one plugin to reach outside its sandbox. The zero
// value grants nothing: deny by default. A plugin whose manifest (or Extism sidecar) asks
// for a capability that is not granted fails to load with ErrCapabilityDenied.
//
// For Extism plugins, Paths become Extism's allowed_paths (each directory mounted at its
// Guest path, by default the same path, inside the guest) and Hosts its allowed_hosts.
type Grants struct {
	// Paths are the directories the plugin may use, each read-write or read-only.
	Paths []PathGrant
	// Hosts are the hosts the plugin may send HTTP requests to, as glob patterns over the
	// host name: "api.example.com", "*.example.com", "*" (any host), each granting every
	// port, or with a port to grant that port only: "127.0.0.1:8080", "[::1]:8080"
	// (native plugins only: Extism's allowed_hosts has no ports).
	Hosts []string
	// KV grants the host's key-value store (effect nodes; each node sees only its own
	// keys).
	KV bool
	// Events grants publishing to the host's event bus (effect nodes; only the topics the
	// manifest's publishes lists).
	Events bool
}

// allow checks that every capability in needs is granted; the error names the first
// that is not, and how to grant it.
func (g Grants) allow(needs []abi.Capability) error {
	for _, c := range needs {
		var missing string
		switch c {
		case abi.CapabilityFS:
			if len(g.Paths) == 0 {
				missing = "no directory is granted (--allow-path DIR[:ro], Grants.Paths)"
			}
		case abi.CapabilityHTTP:
			if len(g.Hosts) == 0 {
				missing = "no host is granted (--allow-host PATTERN, Grants.Hosts)"
			}
		case abi.CapabilityKV:
			if !g.KV {
				missing = "the key-value store is not granted (--kv, Grants.KV)"
			}
		case abi.CapabilityEvents:
			if !g.Events {
				missing = "the event bus is not granted (--events, Grants.Events)"
			}
		}
		if missing != "" {
			return fmt.Errorf("the node needs %s, and %s", c, missing)
		}
	}
	return nil
}

// PathGrant is one granted directory.
type PathGrant struct {
	Dir      string // an existing directory; made absolute and cleaned at load
	ReadOnly bool
	// Guest is where an Extism plugin sees Dir (Extism's allowed_paths maps a host
	// directory to a guest path); "" means Dir itself. Native plugins name files by their
	// host path: a native plugin with a Guest other than Dir fails to load with
	// ErrUnsupported.
	Guest string
}

// ParsePathGrant parses the command-line form DIR, HOST:GUEST (an Extism plugin sees
// the directory HOST at the absolute path GUEST), each optionally followed by :ro
// (read-only) or :rw (the default).
func ParsePathGrant(s string) (PathGrant, error) {
	g := PathGrant{Dir: s}
	if dir, ok := strings.CutSuffix(s, ":ro"); ok {
		g = PathGrant{Dir: dir, ReadOnly: true}
	} else if dir, ok := strings.CutSuffix(s, ":rw"); ok {
		g.Dir = dir
	}
	if dir, guest, ok := strings.Cut(g.Dir, ":"); ok {
		if !path.IsAbs(guest) {
			return PathGrant{}, fmt.Errorf("path grant %q: the guest path %q must be absolute (want DIR, HOST:GUEST, each optionally :ro)", s, guest)
		}
		g.Dir, g.Guest = dir, path.Clean(guest)
	}
	if g.Dir == "" {
		return PathGrant{}, fmt.Errorf("path grant %q: empty directory (want DIR, HOST:GUEST, each optionally :ro)", s)
	}
	return g, nil
}

// String returns the command-line form.
func (g PathGrant) String() string {
	s := g.Dir
	if g.Guest != "" {
		s += ":" + g.Guest
	}
	if g.ReadOnly {
		s += ":ro"
	}
	return s
}

// guestPath is where an Extism plugin sees the directory.
func (g PathGrant) guestPath() string {
	if g.Guest != "" {
		return g.Guest
	}
	return g.Dir
}

// errBadGrant wraps every grant validation failure.
var errBadGrant = errors.New("invalid grant")

// normalize checks every grant and returns a copy with absolute, cleaned directories.
// Directories must exist; host patterns must be valid globs.
func (g Grants) normalize() (Grants, error) {
	out := Grants{Paths: make([]PathGrant, 0, len(g.Paths)), Hosts: make([]string, 0, len(g.Hosts)), KV: g.KV, Events: g.Events}
	for _, p := range g.Paths {
		if p.Dir == "" {
			return Grants{}, fmt.Errorf("%w: path grant with an empty directory", errBadGrant)
		}
		abs, err := filepath.Abs(p.Dir)
		if err != nil {
			return Grants{}, fmt.Errorf("%w: path %q: %v", errBadGrant, p.Dir, err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return Grants{}, fmt.Errorf("%w: path %q: %v", errBadGrant, p.Dir, err)
		}
		if !fi.IsDir() {
			return Grants{}, fmt.Errorf("%w: path %q is not a directory", errBadGrant, p.Dir)
		}
		guest := p.Guest
		if guest != "" {
			if !path.IsAbs(guest) {
				return Grants{}, fmt.Errorf("%w: path %q: the guest path %q must be absolute", errBadGrant, p.Dir, guest)
			}
			if guest = path.Clean(guest); guest == abs {
				guest = ""
			}
		}
		out.Paths = append(out.Paths, PathGrant{Dir: abs, ReadOnly: p.ReadOnly, Guest: guest})
	}
	for _, h := range g.Hosts {
		if err := validHostPattern(h); err != nil {
			return Grants{}, fmt.Errorf("%w: host %q: %v", errBadGrant, h, err)
		}
		out.Hosts = append(out.Hosts, h)
	}
	return out, nil
}

// validHostPattern accepts what httpcap.ParsePattern does: a glob over a host name,
// optionally with ":PORT" (that port only; without one, every port).
func validHostPattern(p string) error {
	_, _, err := httpcap.ParsePattern(p)
	return err
}
