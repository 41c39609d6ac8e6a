// Command goecho is the benchmark plugin: a standard-Go SDK plugin whose "default"
// computation returns its input unchanged (ONEX's identity computation). host's
// BenchmarkEcho runs it through the full host call and through raw wazero.
//
// Built by plugintest (plugintest.Path("plugins/testdata/goecho")), which runs, from the
// repository root:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o goecho.wasm ./plugins/testdata/goecho
package main

import (
	"context"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

func init() {
	sdk.Describe(abi.Manifest{
		Name:          "goecho",
		Version:       "1.0.0",
		Kind:          abi.KindCompute,
		Description:   "Identity echo, for benchmarks",
		Deterministic: true,
		Idempotent:    true,
	})
	sdk.ComputeRaw(abi.Computation{Name: abi.DefaultComputation, Description: "Return the input unchanged"},
		func(_ context.Context, data []byte) ([]byte, error) { return data, nil })
}

func main() {} // required, never called: the host calls the SDK's exports
