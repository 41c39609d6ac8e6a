// Command embed shows how a Go program embeds onex-host: it loads one plugin, then runs
// many computations on it from many goroutines at once — each call on its own sandboxed
// instance from the plugin's pool — and prints the results in input order.
//
//	make plugins
//	go run ./examples/embed bin/plugins/core.wasm
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/compute"
)

func main() {
	path := "bin/plugins/core.wasm"
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	if err := run(context.Background(), host.NewConfig(), path, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

// run loads the core plugin at path and sums eight lists concurrently.
func run(ctx context.Context, cfg host.Config, path string, out io.Writer) error {
	h, err := host.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer h.Close(ctx)

	p, err := h.LoadFile(ctx, path, host.PluginConfig{})
	if err != nil {
		return err
	}
	node, err := compute.New(p)
	if err != nil {
		return err
	}

	// Eight goroutines share one *compute.Node; each Process call checks out its own
	// instance, so no guest state is ever shared.
	results := make([]string, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			data, _ := json.Marshal([]int{i, i * 10, i * 100})
			res, err := node.Process(ctx, abi.ComputeInput{ComputationType: "sum_numbers", Data: data})
			results[i], errs[i] = string(res.Result), err
		})
	}
	wg.Wait()
	for i, r := range results {
		if errs[i] != nil {
			return errs[i]
		}
		fmt.Fprintf(out, "sum of [%d %d %d] = %s\n", i, i*10, i*100, r)
	}
	s := p.Stats()
	fmt.Fprintf(out, "%s %s: %d calls served by %d instances\n", p.Name(), p.Manifest().Version, s.Acquired-1, s.Created)
	return nil
}
