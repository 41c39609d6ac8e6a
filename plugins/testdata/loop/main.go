// Command loop is a hostile test plugin: its computation "spin" never returns, so the
// host must stop it at the deadline.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o loop.wasm ./plugins/testdata/loop
package main

import (
	"context"
	"encoding/json"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

// spins is a package variable so the compiler cannot prove the loop has no effect.
var spins int64

func init() {
	sdk.Describe(abi.Manifest{Name: "loop", Version: "1.0.0", Kind: abi.KindCompute,
		Description: "Test fixture: a computation that loops forever"})
	sdk.Compute(abi.Computation{Name: "spin", Description: "Loops forever"}, spin)
}

func spin(_ context.Context, _ json.RawMessage) (int64, error) {
	for {
		spins++
		if spins == -1 { // never true in practice: 2^63 iterations away
			break
		}
	}
	return spins, nil
}

func main() {}
