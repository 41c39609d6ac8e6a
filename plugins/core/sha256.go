package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/onexhost/onex-host/abi"
)

var sha256Computation = abi.Computation{
	Name:         "sha256",
	Description:  "SHA-256 digest of a string's UTF-8 bytes, as 64 lowercase hex digits",
	InputSchema:  json.RawMessage(`{"type":"string"}`),
	OutputSchema: json.RawMessage(`{"type":"string","pattern":"^[0-9a-f]{64}$"}`),
}

// sha256Hex returns the lowercase hex SHA-256 digest of s's UTF-8 bytes.
func sha256Hex(_ context.Context, s string) (string, error) {
	d := sha256.Sum256([]byte(s))
	return hex.EncodeToString(d[:]), nil
}
