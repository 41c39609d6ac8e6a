// Command crash is a hostile test plugin: its computation "crash" panics on another
// goroutine, which no recover in the handler can catch, so the Go runtime aborts the whole
// instance (it prints the panic to stderr and exits with code 2 through WASI's proc_exit).
// The host must report the failure and discard the instance. Its computation "echo"
// returns its input, so tests can mix good calls with crashes on one plugin.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o crash.wasm ./plugins/testdata/crash
package main

import (
	"context"
	"encoding/json"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

func init() {
	sdk.Describe(abi.Manifest{Name: "crash", Version: "1.0.0", Kind: abi.KindCompute,
		Description: "Test fixture: a computation that crashes the Go runtime"})
	sdk.Compute(abi.Computation{Name: "crash", Description: "Panics on a goroutine the sdk cannot recover"}, crash)
	sdk.ComputeRaw(abi.Computation{Name: "echo", Description: "Returns its input"},
		func(_ context.Context, data []byte) ([]byte, error) { return data, nil })
}

func crash(_ context.Context, _ json.RawMessage) (int, error) {
	never := make(chan int)
	go func() {
		panic("crash: unrecoverable panic on a background goroutine")
	}()
	// Blocking lets the goroutine above run (the guest has one thread); its panic ends the
	// runtime before anything is sent.
	return <-never, nil
}

func main() {}
