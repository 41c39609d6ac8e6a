package main

import (
	"context"
	"encoding/json"
	"math"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

var sumComputation = abi.Computation{
	Name:         "sum_numbers",
	Description:  "Sum an array of numbers, left to right in 64-bit floating point (0 for an empty array)",
	InputSchema:  json.RawMessage(`{"type":"array","items":{"type":"number"}}`),
	OutputSchema: json.RawMessage(`{"type":"number"}`),
}

// sumNumbers adds xs in order, as Python's sum does. A sum beyond the float64 range is an
// error with code "overflow" (JSON has no infinity).
func sumNumbers(_ context.Context, xs []float64) (float64, error) {
	s := sum(xs)
	if math.IsInf(s, 0) {
		return 0, sdk.NewError("overflow", "sum_numbers: the sum exceeds the 64-bit floating-point range")
	}
	return s, nil
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}
