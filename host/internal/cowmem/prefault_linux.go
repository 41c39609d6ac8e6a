package cowmem

import (
	"encoding/binary"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Pre-faulting the working set.
//
// A page an instance writes costs a copy-on-write fault, and when the page was mapped
// read-only before (a read of it, or the kernel's fault-around mapping its neighbours),
// the kernel must also flush the old mapping from every CPU's TLB: an inter-processor
// interrupt, which in a virtual machine is a hypervisor exit. Measured on the 2-core VM
// this project is built on (BENCHMARKS.md, issue 23), goecho's first call took 20 such
// faults and 1–4 ms, against 0.4 ms for the same call on a memory that was copied whole.
//
// So an Image learns the working set: when one of the first learnFrom memories
// allocated from it is freed, /proc/self/pagemap says which of its image pages it had
// mapped, and which of those it had written (a private copy); the working set is the
// union over those memories (the first may be a load-time check that only read the
// manifest, the next ones served calls). Every memory allocated afterwards has them made
// present at allocation (madvise MADV_POPULATE_WRITE and MADV_POPULATE_READ, Linux 5.14):
// in a batch of page-table updates, with no fault, no TLB flush, and — allocation being
// where a pool does its work ahead of the calls — off the call's path. Only memories
// from Allocator are pre-faulted: one made while a caller waits (LazyAllocator) is
// cheaper faulting the few pages its call touches. A written page is
// populated as a private copy of the image, never of what the learning memory wrote:
// what is learned is page numbers, not contents.

// The madvise advice values of Linux 5.14 (not in every x/sys version).
const (
	madvPopulateRead  = 22
	madvPopulateWrite = 23
)

// span is a run of image pages [off, end), in bytes, to populate.
type span struct {
	off, end int
	write    bool
}

// learnFrom is how many freed memories an Image learns its working set from.
const learnFrom = 8

// workingSet is what an Image learned and whether its memories pre-fault. Safe for
// concurrent use: memories are allocated and freed from any goroutine.
type workingSet struct {
	frees atomic.Int32           // memories freed so far (learning stops at learnFrom)
	spans atomic.Pointer[[]span] // the union learned so far; nil until the first
	off   atomic.Bool            // the kernel refused to populate: stop trying

	mu    sync.Mutex // guards pages
	pages []byte     // per image page: 0 never mapped, pageRead, pageWritten
}

// What a page of the working set needs.
const (
	pageRead    = 1
	pageWritten = 2
)

// learn adds the image pages of mem (the image's part of a memory being freed) that are
// mapped to the working set, for the first learnFrom memories of the Image. A pagemap
// that cannot be read teaches nothing.
func (ws *workingSet) learn(mem []byte) {
	if len(mem) == 0 || ws.frees.Add(1) > learnFrom {
		return
	}
	seen, err := mappedPages(mem)
	if err != nil {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.pages == nil {
		ws.pages = make([]byte, len(seen))
	}
	for i, p := range seen {
		ws.pages[i] = max(ws.pages[i], p)
	}
	spans := runs(ws.pages, os.Getpagesize())
	ws.spans.Store(&spans)
}

// prefaultOff turns pre-faulting off for every Image (SetPrefault).
var prefaultOff atomic.Bool

// SetPrefault turns pre-faulting of the learned working set on (the default) or off, for
// every Image of the process, for memories allocated afterwards: benchmarks compare the
// two. Safe for concurrent use.
func SetPrefault(on bool) { prefaultOff.Store(!on) }

// populate makes the learned pages of mem (a new memory's image part) present.
func (ws *workingSet) populate(mem []byte) {
	p := ws.spans.Load()
	if p == nil || ws.off.Load() || prefaultOff.Load() {
		return
	}
	for _, s := range *p {
		advice := madvPopulateRead
		if s.write {
			advice = madvPopulateWrite
		}
		if s.end > len(mem) {
			return
		}
		if err := unix.Madvise(mem[s.off:s.end], advice); err != nil {
			// EINVAL: a kernel before 5.14. Faults will do the work instead.
			ws.off.Store(true)
			return
		}
	}
}

// Pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst).
const (
	pagemapPresent = 1 << 63
	pagemapFile    = 1 << 61 // file page or shared anonymous: not a private copy
)

// mappedPages reads /proc/self/pagemap for mem and returns, per page, whether it is
// mapped: pageWritten (a private copy, not the file's page), pageRead, or 0.
func mappedPages(mem []byte) ([]byte, error) {
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	page := os.Getpagesize()
	n := len(mem) / page
	entries := make([]byte, 8*n)
	start := uintptr(unsafe.Pointer(unsafe.SliceData(mem))) / uintptr(page)
	if _, err := f.ReadAt(entries, int64(start)*8); err != nil {
		return nil, err
	}
	pages := make([]byte, n)
	for i := range n {
		switch e := binary.LittleEndian.Uint64(entries[8*i:]); {
		case e&pagemapPresent == 0:
		case e&pagemapFile == 0:
			pages[i] = pageWritten
		default:
			pages[i] = pageRead
		}
	}
	return pages, nil
}

// runs returns the mapped pages of pages (each size bytes) as runs of one kind.
func runs(pages []byte, size int) []span {
	var spans []span
	for i, p := range pages {
		if p == 0 {
			continue
		}
		off, write := i*size, p == pageWritten
		if k := len(spans) - 1; k >= 0 && spans[k].end == off && spans[k].write == write {
			spans[k].end += size
			continue
		}
		spans = append(spans, span{off: off, end: off + size, write: write})
	}
	return spans
}
