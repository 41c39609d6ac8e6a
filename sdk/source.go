//go:build !wasip1

package sdk

import "embed"

// Source holds this package's Go files and the C and Rust kits (c/onex.h, rust/onex), so
// that `onex-host new` can write them into a plugin project outside a checkout (onex-host
// is not on the Go module proxy). Guests (GOOS=wasip1) do not carry it.
//
//go:embed *.go c/onex.h rust/onex
var Source embed.FS
