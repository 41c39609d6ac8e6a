package main

import (
	"context"
	"encoding/json"

	"github.com/onexhost/onex-host/abi"
)

var identityComputation = abi.Computation{
	Name:         abi.DefaultComputation,
	Description:  "Identity: returns the input unchanged (null when there is none)",
	InputSchema:  json.RawMessage(`{}`),
	OutputSchema: json.RawMessage(`{}`),
}

// identity is ONEX's default computation. The host validated data as JSON, so returning
// it as it is yields a valid result; the sdk copies it out of the host's buffer.
func identity(_ context.Context, data []byte) ([]byte, error) {
	if len(data) == 0 {
		return []byte("null"), nil
	}
	return data, nil
}
