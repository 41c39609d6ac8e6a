package main

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/onexhost/onex-host/abi"
)

var uppercaseComputation = abi.Computation{
	Name: "string_uppercase",
	Description: "Upper-case a string with Unicode simple case mapping, code point by code point " +
		"(Go's strings.ToUpper: 'ß' stays 'ß', where Python's str.upper gives 'SS')",
	InputSchema:  json.RawMessage(`{"type":"string"}`),
	OutputSchema: json.RawMessage(`{"type":"string"}`),
}

// stringUppercase maps every letter of s to upper case (Unicode simple case mapping).
func stringUppercase(_ context.Context, s string) (string, error) {
	return strings.ToUpper(s), nil
}
