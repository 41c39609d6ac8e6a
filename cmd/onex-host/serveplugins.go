package main

import (
	"fmt"
	"io"
	"os"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/artifact"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/host/server/config"
)

// serveMode is how serve was asked to run, beyond its config file.
type serveMode struct {
	// skipUngranted skips, with a warning, the nodes that need capabilities (serve
	// without a config file and without plugin arguments: every plugin of bin/plugins).
	skipUngranted bool
	// watch reloads a node whose file changes, and adds one for a new plugin file in a
	// served directory (--watch, watch.go).
	watch bool
}

// pluginEntries are the node entries for serve's plugin arguments: a directory serves
// each *.wasm file in it (as the config's dir entries do), anything else is a plugin
// file (or an oci:// reference). Relative paths are relative to the current directory.
// A missing file is an error naming the argument.
func pluginEntries(args []string) ([]config.NodeEntry, error) {
	entries := make([]config.NodeEntry, 0, len(args))
	for _, a := range args {
		if artifact.IsRef(a) {
			entries = append(entries, config.NodeEntry{Path: a})
			continue
		}
		fi, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		if fi.IsDir() {
			entries = append(entries, config.NodeEntry{Dir: a})
		} else {
			entries = append(entries, config.NodeEntry{Path: a})
		}
	}
	return entries, nil
}

// printServing writes the API's address and each node's URL on w, for a person who
// started serve: what to call, without reading the logs.
func printServing(w io.Writer, base string, nodes []server.LoadedNode) {
	fmt.Fprintf(w, "serving on %s\n", base)
	for _, n := range nodes {
		fmt.Fprintf(w, "  %s (%s): POST %s\n", n.Name, n.Kind, nodeURL(base, n))
	}
}

// nodeURL is where a node's operation is posted: compute and effect nodes under
// /v1/nodes, reducer nodes' events under /v1/reducers, an orchestrator's workflows
// (named by its computations) at /v1/workflows.
func nodeURL(base string, n server.LoadedNode) string {
	switch n.Kind {
	case abi.KindEffect:
		return base + "/v1/nodes/" + n.Name + "/" + server.OperationEffect
	case abi.KindReducer:
		return base + "/v1/reducers/" + n.Name + "/keys/{key}/events"
	case abi.KindOrchestrator:
		return base + "/v1/workflows"
	}
	return base + "/v1/nodes/" + n.Name + "/" + server.OperationCompute
}
