package cowmem

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
)

// Image is a memory image that linear memories start from, copy-on-write. It is safe for
// concurrent use by multiple goroutines: wazero calls Allocate from every goroutine that
// instantiates a module.
type Image struct {
	image []byte // for the fallback, and what the memfd holds

	// mu guards fd against Close while a memory maps it.
	mu sync.RWMutex
	fd int // -1 after Close

	ws workingSet // the pages memories are pre-faulted with (prefault_linux.go)
}

// New returns an Image holding a copy of image, whose length must be a multiple of the
// Wasm page size (64 KiB), as a memory's is. Errors: ErrUnsupported (wrapped) when the
// kernel has no memfd_create; an error of creating, writing or sealing the memfd.
func New(image []byte) (*Image, error) {
	if len(image)%65536 != 0 {
		return nil, fmt.Errorf("cowmem: an image of %d bytes is not whole 64 KiB pages", len(image))
	}
	fd, err := unix.MemfdCreate("onex-snapshot", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err == unix.ENOSYS {
		return nil, fmt.Errorf("%w: memfd_create: %v", ErrUnsupported, err)
	}
	if err != nil {
		return nil, fmt.Errorf("cowmem: memfd_create: %w", err)
	}
	if err := fill(fd, image); err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	return &Image{image: append([]byte(nil), image...), fd: fd}, nil
}

// fill writes image to fd and seals it: no one, this process included, can change the
// image under the memories mapping it.
func fill(fd int, image []byte) error {
	if err := unix.Ftruncate(fd, int64(len(image))); err != nil {
		return fmt.Errorf("cowmem: ftruncate: %w", err)
	}
	for off := 0; off < len(image); {
		n, err := unix.Pwrite(fd, image[off:], int64(off))
		if err != nil {
			return fmt.Errorf("cowmem: write: %w", err)
		}
		off += n
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		return fmt.Errorf("cowmem: seal: %w", err)
	}
	return nil
}

// Size is the image's length in bytes.
func (im *Image) Size() int { return len(im.image) }

// Allocator returns im as wazero's memory allocator: pass it to
// experimental.WithMemoryAllocator in the context of InstantiateModule. Its memories
// are pre-faulted with the learned working set (prefault_linux.go).
func (im *Image) Allocator() experimental.MemoryAllocator { return im }

// LazyAllocator is Allocator without pre-faulting, for a memory made on a call's path:
// populating the whole working set (≈ 200 pages for a Go guest) costs more than the
// faults of the few pages one call touches. Pre-faulting pays when the memory is made
// ahead of the call that will use it (a pool's prewarm or refill).
func (im *Image) LazyAllocator() experimental.MemoryAllocator { return lazy{im} }

// lazy is an Image's allocator that does not pre-fault.
type lazy struct{ im *Image }

func (l lazy) Allocate(_, limit uint64) experimental.LinearMemory { return l.im.allocate(limit, false) }

// Allocate implements experimental.MemoryAllocator: a memory of up to limit bytes whose
// first Size() bytes are the image. The cap hint is ignored: the whole maximum is
// reserved, so the memory never moves.
func (im *Image) Allocate(_, limit uint64) experimental.LinearMemory { return im.allocate(limit, true) }

func (im *Image) allocate(limit uint64, prefault bool) experimental.LinearMemory {
	limit = max(limit, uint64(len(im.image)))
	im.mu.RLock()
	defer im.mu.RUnlock()
	if im.fd < 0 || limit > uint64(^uint(0)>>1) {
		return newHeap(im.image, limit)
	}
	// Address space only: PROT_NONE and MAP_NORESERVE commit no memory.
	region, err := unix.Mmap(-1, 0, int(limit), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return newHeap(im.image, limit)
	}
	if len(im.image) > 0 {
		_, err = unix.MmapPtr(im.fd, 0, unsafe.Pointer(unsafe.SliceData(region)), uintptr(len(im.image)),
			unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED)
		if err != nil {
			_ = unix.Munmap(region)
			return newHeap(im.image, limit)
		}
		if prefault {
			im.ws.populate(region[:len(im.image)])
		}
	}
	return &mapped{region: region, usable: uint64(len(im.image)), im: im}
}

// Close releases the memfd. Memories allocated before stay valid (their mappings hold
// the image); later ones are heap copies. Close is idempotent.
func (im *Image) Close() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.fd < 0 {
		return nil
	}
	err := unix.Close(im.fd)
	im.fd = -1
	return err
}

// mapped is a linear memory in its own reservation: the image mapped privately at the
// start, anonymous zero pages after it up to usable, inaccessible beyond. wazero uses
// one from one goroutine at a time (an instance is never shared).
type mapped struct {
	region []byte // the whole reservation
	usable uint64 // bytes readable and writable from the start
	im     *Image // what it maps, which learns its working set at Free
}

// Reallocate makes the first size bytes usable and returns them; nil past the
// reservation or when the kernel refuses.
func (m *mapped) Reallocate(size uint64) []byte {
	if size > uint64(len(m.region)) {
		return nil
	}
	if size > m.usable {
		if err := unix.Mprotect(m.region[m.usable:size], unix.PROT_READ|unix.PROT_WRITE); err != nil {
			return nil
		}
		m.usable = size
	}
	return m.region[:size:size]
}

// Free unmaps the reservation, image pages included; the image's first memory freed
// teaches it the working set to pre-fault (prefault_linux.go).
func (m *mapped) Free() {
	if m.region != nil {
		m.im.ws.learn(m.region[:len(m.im.image)])
		_ = unix.Munmap(m.region)
		m.region = nil
	}
}

// Supported reports whether New can work here: on Linux, yes (a kernel without
// memfd_create, older than 3.17, still makes New fail with ErrUnsupported).
func Supported() bool { return true }
