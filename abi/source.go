//go:build !wasip1

package abi

import "embed"

// Source holds this package's Go files, so that `onex-host new` can write them into a
// plugin project outside a checkout (onex-host is not on the Go module proxy). Guests
// (GOOS=wasip1) do not carry it.
//
//go:embed *.go
var Source embed.FS
