package server

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/onexhost/onex-host/abi"
)

// LoadedNode is what Loaded and Add report of one loaded node version.
type LoadedNode struct {
	// Name is the name the node is served under.
	Name string
	// Path is its spec's file: NodeSpec.Path as given (an oci:// reference for a pulled
	// node), or the FSM contract of an FSM node.
	Path string
	// Digest is the loaded version's digest: "sha256:" and the hex SHA-256 of the
	// module's bytes, or an FSM contract's name and version.
	Digest string
	// Kind is the node's kind (an FSM node is a reducer).
	Kind abi.Kind
}

func loaded(n *node) LoadedNode {
	return LoadedNode{Name: n.name, Path: n.spec.source(), Digest: n.digest(), Kind: n.kind()}
}

// Loaded returns the nodes loaded now, sorted by name. It does not block.
func (s *Server) Loaded() []LoadedNode {
	nodes := *s.nodes.Load()
	out := make([]LoadedNode, 0, len(nodes))
	for _, name := range slices.Sorted(maps.Keys(nodes)) {
		out = append(out, loaded(nodes[name]))
	}
	return out
}

// Add loads one more node into a server that may already be serving (a plugin file that
// appeared in a watched directory), compiled and warmed before requests reach it. Unlike
// Load it neither runs Options.BeforeReady nor changes readiness. The node is served
// over HTTP (and by Invoke); package host/cluster's service lists the endpoints it
// serves when it starts, so the cluster does not learn of it. A spec that fails to load,
// or whose node name is taken, returns an error wrapping ErrLoad and changes nothing.
// It blocks while the node loads and while another load or reload runs.
func (s *Server) Add(ctx context.Context, spec NodeSpec) (LoadedNode, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.loadNode(ctx, spec, nil)
	if err != nil {
		return LoadedNode{}, fmt.Errorf("%w %s: %w", ErrLoad, spec.source(), err)
	}
	next := maps.Clone(*s.nodes.Load())
	if old := next[n.name]; old != nil {
		_ = n.close(ctx)
		return LoadedNode{}, fmt.Errorf("%w %s: a node named %q is already loaded from %s", ErrLoad, spec.source(), n.name, old.spec.source())
	}
	next[n.name] = n
	s.nodes.Store(&next)
	s.log.Info("node loaded", "node", n.name, "path", spec.source(), "digest", n.digest(), "kind", n.kind())
	return loaded(n), nil
}
