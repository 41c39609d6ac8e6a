// Command panic is a test plugin: its computation "boom" panics, which the sdk recovers
// and reports as abi.StatusPanic; the instance stays usable.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o panic.wasm ./plugins/testdata/panic
package main

import (
	"context"
	"encoding/json"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

func init() {
	sdk.Describe(abi.Manifest{Name: "panic", Version: "1.0.0", Kind: abi.KindCompute,
		Description: "Test fixture: a computation that panics (recovered by the sdk)"})
	sdk.Compute(abi.Computation{Name: "boom", Description: `Panics with "boom"`}, boom)
}

func boom(_ context.Context, _ json.RawMessage) (int, error) {
	panic("boom")
}

func main() {}
