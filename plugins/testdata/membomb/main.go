// Command membomb is a hostile test plugin: its computation "grow" allocates 1 MiB at a
// time and keeps every byte, so the host must stop it at its memory limit.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o membomb.wasm ./plugins/testdata/membomb
package main

import (
	"context"
	"encoding/json"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

// hoard keeps every allocation reachable, so the garbage collector cannot free any.
var hoard [][]byte

func init() {
	sdk.Describe(abi.Manifest{Name: "membomb", Version: "1.0.0", Kind: abi.KindCompute,
		Description: "Test fixture: a computation that allocates memory until it runs out"})
	sdk.Compute(abi.Computation{Name: "grow", Description: "Allocates 1 MiB slices forever"}, grow)
}

func grow(_ context.Context, _ json.RawMessage) (int, error) {
	for {
		b := make([]byte, 1<<20)
		b[len(b)-1] = 1 // touch it
		hoard = append(hoard, b)
	}
}

func main() {}
