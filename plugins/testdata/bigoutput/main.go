// Command bigoutput is a test plugin: its computation "big" returns a JSON string of N
// 'x' characters for an input N, to exercise the host's output size cap.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bigoutput.wasm ./plugins/testdata/bigoutput
package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

func init() {
	sdk.Describe(abi.Manifest{Name: "bigoutput", Version: "1.0.0", Kind: abi.KindCompute,
		Description:   "Test fixture: a computation with an output as large as asked",
		Deterministic: true, Idempotent: true})
	sdk.Compute(abi.Computation{
		Name:         "big",
		Description:  "Returns a string of N 'x' characters",
		InputSchema:  []byte(`{"type":"integer","minimum":0}`),
		OutputSchema: []byte(`{"type":"string"}`),
	}, big)
}

func big(_ context.Context, n int) (string, error) {
	if n < 0 {
		return "", sdk.NewError("invalid_input", fmt.Sprintf("big: N must not be negative, got %d", n))
	}
	return strings.Repeat("x", n), nil
}

func main() {}
