// Command extismecho is the Extism twin of goecho: an identity echo written with Extism's
// Go PDK, for host's BenchmarkEcho/extism. It has its own go.mod because the PDK is not a
// dependency of onex-host, and testdata is outside the main module's package graph.
//
// Build (the benchmark does this itself, into the plugintest cache):
//
//	cd plugins/testdata/extismecho && GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o extismecho.wasm .
package main

import "github.com/extism/go-pdk"

// echo returns its input unchanged.
//
//go:wasmexport echo
func echo() int32 {
	pdk.Output(pdk.Input())
	return 0
}

func main() {} // required by -buildmode=c-shared, never called
