package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/reducer"
	"github.com/onexhost/onex-host/host/reducer/fsm"
)

// reduceResult is what reduce prints: the key's final state and the intents this run's
// events produced (not carried out: reduce runs no effect nodes).
type reduceResult struct {
	Key        string                `json:"key"`
	Sequence   uint64                `json:"sequence"`
	State      json.RawMessage       `json:"state"`
	Applied    int                   `json:"applied"`
	Duplicates int                   `json:"duplicates"`
	Intents    []reducer.OutboxEntry `json:"intents"`
	// Projection is the last applied event's projection (an FSM's fsm_state, …), when
	// the fold gave one.
	Projection json.RawMessage `json:"projection,omitempty"`
}

func newReduceCmd(e *env) *cobra.Command {
	var (
		key, eventsPath, reduction, dataDir, nodePath, fsmPath string
		hf                                                     hostFlags
	)
	cmd := &cobra.Command{
		Use:   "reduce {<plugin.wasm> | --fsm <contract.yaml>} --key <key> --events {<file.jsonl> | -} [--reduction <name>] [--data-dir <dir>]",
		Short: "Fold events into one key's state with a reducer plugin or an FSM contract and print the final state",
		Long: "Apply each line of --events (one event envelope per line: {\"event_id\", \"type\",\n" +
			"\"data\"}, decoded strictly; blank lines skipped) to --key, in order, with the reducer\n" +
			"plugin, and print {key, sequence, state, applied, duplicates, intents} as JSON. Every\n" +
			"line is decoded before any is applied, so a malformed file changes nothing.\n\n" +
			"Without --data-dir the state starts empty and is discarded at exit; with it, the state,\n" +
			"the dedupe window and the outbox live in <dir>/reducers.db (the file serve uses), so a\n" +
			"second run continues the key and an event id already applied is a duplicate. Intents\n" +
			"are listed, not carried out: reduce runs no effect nodes (serve does).\n" +
			"--reduction names the reduction (default: the manifest's first).\n" +
			"--fsm runs an ONEX FSM contract (YAML) instead of a plugin, under its\n" +
			"state_machine_name; the output's projection then carries fsm_state and the other\n" +
			"FSM metadata of the last applied event.\n" +
			"Exit status: 0 ok, 1 a fold failed (the state stays as the last good event left it), 2 misuse.",
		Example: "  # a reducer plugin (the repository's test counter; onex-host new and build make your own)\n" +
			"  GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o /tmp/counter.wasm ./plugins/testdata/counter\n" +
			"  onex-host reduce /tmp/counter.wasm --key cart-1 --events events.jsonl\n" +
			"  printf '{\"event_id\":\"1\",\"type\":\"add\",\"data\":5}\\n' | onex-host reduce /tmp/counter.wasm --key k --events -\n" +
			"  onex-host reduce --fsm examples/orders/order.fsm.yaml --key o1 --events order-events.jsonl",
		Args: func(cmd *cobra.Command, args []string) error {
			if fsmPath != "" {
				if len(args) != 0 {
					return fmt.Errorf("reduce: --fsm and a plugin are exclusive: give one")
				}
				return nil
			}
			return exactArgs("<plugin.wasm> (or --fsm <contract.yaml>)", 1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" {
				return fmt.Errorf("--key is required")
			}
			if eventsPath == "" {
				return fmt.Errorf("--events is required (a JSONL file, or - for stdin)")
			}
			evs, err := readEvents(e, eventsPath)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if fsmPath != "" {
				if reduction != "" || nodePath != "" {
					return fmt.Errorf("--fsm: --reduction and --node apply to plugins only")
				}
				m, err := fsm.LoadFile(fsmPath)
				if err != nil {
					return fmt.Errorf("--fsm: %w", err)
				}
				return reduce(ctx, e, m.Name(), "", m.Fold(), key, dataDir, evs)
			}
			hf.dataDir, hf.nodePath = "", nodePath // the host's own data: reduce runs no effects
			h, p, err := hf.load(ctx, e, args[0], 1)
			if err != nil {
				return err
			}
			defer h.Close(context.Background())
			name, fold, err := pluginFold(p, &reduction)
			if err != nil {
				return err
			}
			return reduce(ctx, e, name, reduction, fold, key, dataDir, evs)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&key, "key", "k", "", "the key whose state the events change (required)")
	fs.StringVar(&eventsPath, "events", "", "a JSONL file of event envelopes, or - for stdin (required)")
	fs.StringVar(&reduction, "reduction", "", "the reduction to run (default: the manifest's first)")
	fs.StringVar(&dataDir, "data-dir", "", "keep the state in <dir>/reducers.db across runs (default: a temporary store)")
	fs.StringVar(&fsmPath, "fsm", "", "an ONEX FSM contract (YAML) to fold with instead of a plugin")
	fs.StringVar(&nodePath, "node", "", "Extism plugins: node description (YAML, kind: reducer) instead of the sidecar")
	fs.DurationVar(&hf.timeout, "timeout", 0, "per-fold timeout, e.g. 300ms (default: the manifest's timeout_ms, else 30s)")
	fs.StringVar(&hf.memoryLimit, "memory-limit", "128MiB", "linear memory limit per instance, e.g. 64MiB")
	fs.StringVar(&hf.maxInput, "max-input", "16MiB", "largest input handed to a fold, at most 1GiB")
	fs.StringVar(&hf.cacheDir, "cache-dir", host.DefaultCacheDir(), "compilation cache directory (\"\" disables it)")
	fs.BoolVar(&hf.noValidate, "no-validate-input", false, "fold events without checking their data against the reduction's input_schema")
	return cmd
}

// readEvents reads and strictly decodes every event of path ("-": stdin); every error is
// misuse and names the line.
func readEvents(e *env, path string) ([]abi.ReduceEvent, error) {
	var r io.Reader = e.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--events: %w", err)
		}
		defer f.Close()
		r = f
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), host.DefaultMaxInputBytes)
	var evs []abi.ReduceEvent
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		ev, err := abi.DecodeReduceEvent(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("--events %s: line %d: %w", path, line, err)
		}
		evs = append(evs, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--events %s: %w", path, err)
	}
	return evs, nil
}

// pluginFold checks that p is a reducer with the reduction *reduction (default, filled
// in: the manifest's first) and returns its name and fold.
func pluginFold(p *host.Plugin, reduction *string) (string, reducer.Fold, error) {
	m := p.Manifest()
	if m.Kind != abi.KindReducer {
		return "", nil, fmt.Errorf("%s is a %s node, not a reducer", p.Name(), m.Kind)
	}
	if *reduction == "" && len(m.Computations) > 0 {
		*reduction = m.Computations[0].Name
	}
	if !slices.ContainsFunc(m.Computations, func(c abi.Computation) bool { return c.Name == *reduction }) {
		return "", nil, fmt.Errorf("--reduction %q: %s has no such reduction", *reduction, p.Name())
	}
	fold, err := reducer.FoldOf(p)
	if err != nil {
		return "", nil, failure{err}
	}
	return p.Name(), fold, nil
}

// reduce applies evs to key with the fold of reducer node name and prints the result.
func reduce(ctx context.Context, e *env, name, reduction string, fold reducer.Fold, key, dataDir string, evs []abi.ReduceEvent) error {
	var err error
	dir := dataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "onex-reduce-"); err != nil {
			return failure{err}
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return failure{err}
	}
	st, err := reducer.OpenStore(filepath.Join(dir, reducersFile), reducer.NewConfig())
	if err != nil {
		return failure{err}
	}
	defer st.Close()
	node, err := reducer.NewNode(name, reduction, fold, st)
	if err != nil {
		return failure{err}
	}
	out := reduceResult{Key: key, Intents: []reducer.OutboxEntry{}}
	for i, ev := range evs {
		res, err := node.Apply(ctx, key, ev)
		if err != nil {
			return failure{fmt.Errorf("event %d (%s): %w", i+1, ev.EventID, err)}
		}
		if res.Duplicate {
			out.Duplicates++
			continue
		}
		out.Applied++
		out.Intents = append(out.Intents, res.Intents...)
		out.Projection = res.Projection
	}
	ks, err := st.State(name, key)
	if err != nil {
		return failure{err}
	}
	out.Sequence, out.State = ks.Sequence, ks.State
	if len(out.State) == 0 {
		out.State = json.RawMessage("null") // no event applied, ever
	}
	return printJSON(e, out)
}
