// Command orders runs an order lifecycle written as an ONEX-style FSM contract
// (order.fsm.yaml, no code) on a reducer node whose state the host owns, and carries the
// intents the transitions emit out through the fileops effect node.
//
//	make plugins
//	go run ./examples/orders bin/plugins/fileops.wasm [dir]
//
// It writes the reducer's store and the files the effects write under dir (default: a
// new temporary directory) and prints each event's outcome and the files at the end.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/effect"
	"github.com/onexhost/onex-host/host/reducer"
	"github.com/onexhost/onex-host/host/reducer/fsm"
)

//go:embed order.fsm.yaml
var contract []byte

func main() {
	plugin := "bin/plugins/fileops.wasm"
	if len(os.Args) > 1 {
		plugin = os.Args[1]
	}
	dir := ""
	if len(os.Args) > 2 {
		dir = os.Args[2]
	} else {
		tmp, err := os.MkdirTemp("", "orders")
		if err != nil {
			fmt.Fprintln(os.Stderr, "orders:", err)
			os.Exit(1)
		}
		dir = tmp
	}
	if err := run(context.Background(), host.NewConfig(), plugin, dir, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(1)
	}
	fmt.Println("state and files in", dir)
}

// events are what the example sends: order id (the key), event id, trigger, data.
var events = []struct{ key, id, typ, data string }{
	{"A-1", "a1", "place", `{"total":30,"currency":"EUR"}`},
	{"A-1", "a2", "pay", `{"amount":0}`}, // refused: pays_something
	{"A-1", "a3", "pay", `{"amount":30}`},
	{"B-2", "b1", "place", `{"total":12,"currency":"USD"}`},
	{"A-1", "a3", "pay", `{"amount":30}`}, // redelivered: a duplicate, nothing happens
	{"B-2", "b2", "pay", `{"amount":12}`},
	{"A-1", "a4", "ship", `{"tracking":"TR-7"}`},
	{"B-2", "b3", "cancel", `{}`},
	{"A-1", "a5", "deliver", `{}`},
	{"A-1", "a6", "cancel", `{}`}, // refused: delivered is terminal
}

// run applies events to the "orders" reducer node and waits until the dispatcher has
// carried every intent out through fileops (granted dir/files only).
func run(ctx context.Context, cfg host.Config, plugin, dir string, out io.Writer) error {
	files := filepath.Join(dir, "files")
	if err := os.MkdirAll(files, 0o755); err != nil {
		return err
	}
	h, err := host.New(ctx, cfg.WithDataDir(filepath.Join(dir, "host")))
	if err != nil {
		return err
	}
	defer h.Close(ctx)
	p, err := h.LoadFile(ctx, plugin, host.PluginConfig{Grants: host.Grants{Paths: []host.PathGrant{{Dir: files}}}})
	if err != nil {
		return err
	}
	fileops, err := effect.New(p, effect.Config{})
	if err != nil {
		return err
	}

	m, err := fsm.Load(contract)
	if err != nil {
		return err
	}
	store, err := reducer.OpenStore(filepath.Join(dir, "reducer.db"), reducer.NewConfig())
	if err != nil {
		return err
	}
	defer store.Close()
	orders, err := reducer.NewNode("orders", m.Name(), m.Fold(), store)
	if err != nil {
		return err
	}

	// The dispatcher carries the outbox's intents to fileops, each with its deterministic
	// operation id; fileops' write and delete are idempotent, so a repeat after a crash
	// is harmless.
	carry := func(ctx context.Context, e reducer.OutboxEntry) error {
		if e.Intent.Node != "fileops" {
			return fmt.Errorf("intent %s names unknown effect node %q", e.OperationID, e.Intent.Node)
		}
		data, err := rooted(e.Intent.OperationData, files)
		if err != nil {
			return err
		}
		_, err = fileops.Process(ctx, abi.EffectInput{EffectType: e.Intent.EffectType, OperationData: data, OperationID: e.OperationID})
		return err
	}
	dctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- reducer.NewDispatcher(store, carry, reducer.DispatchConfig{}).Run(dctx) }()
	defer func() { stop(); <-done }()

	for _, ev := range events {
		res, err := orders.Apply(ctx, ev.key, abi.ReduceEvent{EventID: ev.id, Type: ev.typ, Data: json.RawMessage(ev.data)})
		if err != nil {
			return err
		}
		if res.Duplicate {
			fmt.Fprintf(out, "%s %-7s #%d duplicate of event %s: nothing changed\n", ev.key, ev.typ, res.Sequence, ev.id)
			continue
		}
		var pr fsm.Projection
		if err := json.Unmarshal(res.Projection, &pr); err != nil {
			return err
		}
		line := fmt.Sprintf("%s %-7s #%d %s -> %s", ev.key, ev.typ, res.Sequence, pr.PreviousState, pr.State)
		if !pr.TransitionSuccess {
			line += " refused: " + *pr.FailureReason
		} else if len(res.Intents) > 0 {
			line += fmt.Sprintf(" (%d intent)", len(res.Intents))
		}
		fmt.Fprintln(out, line)
	}

	// Wait for the outbox to drain: the dispatcher is woken by each commit.
	for {
		pending, err := store.Pending(0)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			break
		}
		select {
		case err := <-done:
			return fmt.Errorf("dispatcher stopped with %d intents pending: %w", len(pending), err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return list(files, out)
}

// rooted makes the relative paths of a fileops operation absolute under dir. The
// contract names files relative to the output directory, which only the program knows.
func rooted(data json.RawMessage, dir string) (json.RawMessage, error) {
	var op map[string]any
	if err := json.Unmarshal(data, &op); err != nil {
		return nil, fmt.Errorf("operation data: %w", err)
	}
	for _, k := range []string{"path", "from", "to"} {
		if s, ok := op[k].(string); ok {
			if !filepath.IsLocal(s) {
				return nil, fmt.Errorf("operation data: %s %q is not a local path", k, s)
			}
			op[k] = filepath.Join(dir, s)
		}
	}
	return json.Marshal(op)
}

// list prints the files in dir and their contents.
func list(dir string, out io.Writer) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if len(names) == 0 {
		return errors.New("no files written")
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: %s", n, b)
	}
	return nil
}
