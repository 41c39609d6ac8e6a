//go:build !linux

package cowmem

import "github.com/tetratelabs/wazero/experimental"

// Image is a memory image that linear memories start from, copy-on-write; on this system
// New always fails with ErrUnsupported.
type Image struct{}

// New returns ErrUnsupported: copy-on-write memories need Linux's memfd.
func New([]byte) (*Image, error) { return nil, ErrUnsupported }

// Size is the image's length in bytes.
func (im *Image) Size() int { return 0 }

// Allocator returns im as wazero's memory allocator.
func (im *Image) Allocator() experimental.MemoryAllocator { return im }

// LazyAllocator is Allocator: nothing is pre-faulted here.
func (im *Image) LazyAllocator() experimental.MemoryAllocator { return im }

// Allocate implements experimental.MemoryAllocator with heap memories.
func (im *Image) Allocate(_, max uint64) experimental.LinearMemory { return newHeap(nil, max) }

// Close does nothing.
func (im *Image) Close() error { return nil }

// Supported reports whether New can work here: no.
func Supported() bool { return false }

// SetPrefault does nothing: there is no working set to pre-fault here.
func SetPrefault(bool) {}
