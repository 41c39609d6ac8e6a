package main

import (
	"context"
	"strings"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

func init() {
	sdk.Describe(abi.Manifest{Name: "shout", Version: "1.0.0", Kind: abi.KindCompute, Deterministic: true})
	sdk.Compute(abi.Computation{Name: "upper", Description: "Upper-case a string"},
		func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
}

func main() {} // required, never called
