//go:build unix

package meter

import (
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// specMemory backs a spec world's Wasm memories with anonymous mappings outside Go's
// heap (see mmapMemory). It returns nil, wazero's default, where mapping fails.
func specMemory() experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(_, max uint64) experimental.LinearMemory {
		b, err := syscall.Mmap(-1, 0, int(max)+syscall.Getpagesize(), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			return nil
		}
		return &mmapMemory{buf: b}
	})
}

// mmapMemory is a Wasm memory mapped at its maximum size, inaccessible, and made
// accessible as it grows. A grow copies nothing, and the race detector, which does not
// track memory outside Go's heap, has nothing to shadow: under -race, growing and
// freeing the spec suite's memories in Go's heap (memory_grow grows one to 50 MB)
// costs more than compiling all its modules.
type mmapMemory struct {
	buf  []byte
	open int // bytes made accessible, a multiple of the page size
}

func (m *mmapMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	if n := int(size); n > m.open {
		page := syscall.Getpagesize()
		n = (n + page - 1) / page * page
		if syscall.Mprotect(m.buf[m.open:n], syscall.PROT_READ|syscall.PROT_WRITE) != nil {
			return nil
		}
		m.open = n
	}
	return m.buf[:size:size]
}

func (m *mmapMemory) Free() { _ = syscall.Munmap(m.buf) }
