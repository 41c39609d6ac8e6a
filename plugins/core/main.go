// Command core is onex-host's first-party compute node: ONEX's built-in computations
// (default, string_uppercase, sum_numbers) plus descriptive statistics and SHA-256
// digests. It is a WebAssembly plugin built with the sdk:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o core.wasm ./plugins/core
//
// Each computation's logic is a plain function in the file named after it, unit-tested
// natively; this file only describes the node and registers them.
package main

import (
	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

func init() {
	sdk.Describe(abi.Manifest{
		Name:    "core",
		Version: "1.0.0",
		Kind:    abi.KindCompute,
		Description: "ONEX built-in computations: identity, Unicode upper-casing, sums, " +
			"descriptive statistics and SHA-256 digests",
		Deterministic: true,
		Idempotent:    true,
	})
	sdk.ComputeRaw(identityComputation, identity)
	sdk.Compute(uppercaseComputation, stringUppercase)
	sdk.Compute(sumComputation, sumNumbers)
	sdk.Compute(statsComputation, stats)
	sdk.Compute(sha256Computation, sha256Hex)
}

// main is never called: the host calls the exports the sdk provides.
func main() {}
