// Command extismecho is the Extism twin of goecho: an identity echo written with Extism's
// Go PDK, for host's BenchmarkEcho/extism. Its second export, chat, logs through Extism and
// prints to stdout, for the host's log tests. It has its own go.mod because the PDK is not a
// dependency of onex-host, and testdata is outside the main module's package graph.
//
// Build (the benchmark does this itself, into the plugintest cache):
//
//	cd plugins/testdata/extismecho && GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o extismecho.wasm .
package main

import (
	"fmt"

	"github.com/extism/go-pdk"
)

// echo returns its input unchanged.
//
//go:wasmexport echo
func echo() int32 {
	pdk.Output(pdk.Input())
	return 0
}

// chat logs "hello from extism" at info through Extism and prints "extism to stdout".
//
//go:wasmexport chat
func chat() int32 {
	pdk.Log(pdk.LogInfo, "hello from extism")
	fmt.Println("extism to stdout")
	return 0
}

func main() {} // required by -buildmode=c-shared, never called
