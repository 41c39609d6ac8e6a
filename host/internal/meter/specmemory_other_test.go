//go:build !unix

package meter

import "github.com/tetratelabs/wazero/experimental"

// specMemory returns nil: spec worlds keep their memories in Go's heap, as wazero
// does by default.
func specMemory() experimental.MemoryAllocator { return nil }
