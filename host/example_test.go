package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/compute"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// Load a plugin once and run it through the ONEX compute envelope. The plugin here is the
// WAT reference plugin from this repository; bin/plugins/core.wasm (make plugins) works
// the same way.
func Example() {
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig())
	if err != nil {
		panic(err)
	}
	defer h.Close(ctx)

	p, err := h.LoadFile(ctx, "../plugins/testdata/wat/echo.wasm", host.PluginConfig{})
	if err != nil {
		panic(err)
	}
	node, err := compute.New(p)
	if err != nil {
		panic(err)
	}
	out, err := node.Process(ctx, abi.ComputeInput{ComputationType: "length", Data: json.RawMessage(`"hello"`)})
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Name(), out.ComputationType, string(out.Result))
	// Output: echo length 7
}

// Every failure is a *host.PluginError matching one sentinel.
func ExamplePluginError() {
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig())
	if err != nil {
		panic(err)
	}
	defer h.Close(ctx)

	p, err := h.LoadFile(ctx, "../plugins/testdata/wat/loop.wasm", host.PluginConfig{Timeout: 50 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	_, err = p.Call(ctx, "default", nil)
	var pe *host.PluginError
	fmt.Println(errors.Is(err, host.ErrTimeout), errors.As(err, &pe) && pe.Retryable)
	fmt.Println(err)
	// Output:
	// true true
	// host: plugin loop: default: timeout: guest stopped after the 50ms timeout
}

// Any Extism plugin loads as a compute node. Here, a C plugin from Extism's own test
// suite, read from the module cache, gets a node description in code (a <name>.onex.yaml
// sidecar next to the file does the same) and runs through the ONEX envelope.
func ExampleExtismNode() {
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig())
	if err != nil {
		panic(err)
	}
	defer h.Close(ctx)

	path, err := plugintest.ExtismPath("hello.wasm")
	if err != nil {
		panic(err)
	}
	node := &host.ExtismNode{Name: "hello", Version: "1.0.0", Deterministic: true,
		Computations: []host.ExtismComputation{{Name: "greet", Export: "run_test"}}}
	p, err := h.LoadFile(ctx, path, host.PluginConfig{Extism: host.ExtismConfig{Node: node}})
	if err != nil {
		panic(err)
	}
	n, err := compute.New(p)
	if err != nil {
		panic(err)
	}
	for range 2 {
		out, err := n.Process(ctx, abi.ComputeInput{ComputationType: "greet"})
		if err != nil {
			panic(err)
		}
		fmt.Println(p.Flavour(), string(out.Result), out.CacheHit)
	}
	// Output:
	// extism "Hello, world!" false
	// extism "Hello, world!" true
}
