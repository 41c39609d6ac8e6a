package cowmem

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWorkingSet_PrefaultsWhatWasTouched: after a memory that wrote one page and read
// another is freed, a new memory has the written page as a private copy and the read
// one mapped before it touches either — holding the image's bytes, not what the first
// memory wrote — and pages no memory touched stay unmapped.
func TestWorkingSet_PrefaultsWhatWasTouched(t *testing.T) {
	ps := os.Getpagesize()
	img := make([]byte, 8*65536)
	for i := range img {
		img[i] = byte(i * 13)
	}
	im, err := New(img)
	require.NoError(t, err)
	defer im.Close()
	const written, read, untouched = 3, 40, 100 // OS pages, 16+ apart (the fault-around window)
	require.Less(t, untouched*ps, len(img))

	firstMem := im.Allocate(uint64(len(img)), uint64(len(img)))
	first := firstMem.Reallocate(uint64(len(img)))
	first[written*ps+5] ^= 0xff
	sink = first[read*ps+7]
	before, err := mappedPages(first)
	require.NoError(t, err)
	require.Equal(t, byte(pageWritten), before[written], "the kernel made the written page a private copy")
	require.Equal(t, byte(pageRead), before[read])
	mem := im.Allocate(uint64(len(img)), uint64(len(img)))
	mem.Free() // nothing touched: learns nothing
	firstMem.Free()

	next := im.Allocate(uint64(len(img)), uint64(len(img)))
	defer next.Free()
	buf := next.Reallocate(uint64(len(img)))
	got, err := mappedPages(buf)
	require.NoError(t, err)
	if im.ws.off.Load() {
		t.Skip("this kernel cannot populate (MADV_POPULATE_*, Linux 5.14)")
	}
	assert.Equal(t, byte(pageWritten), got[written], "written before: a private copy at allocation")
	assert.Equal(t, byte(pageRead), got[read], "read before: mapped at allocation")
	assert.Equal(t, byte(0), got[untouched], "never touched: not mapped")
	assert.True(t, bytes.Equal(img, buf), "a new memory holds the image, not what the first one wrote")
}

// sink keeps the test's read of a page from being optimised away.
var sink byte

// TestRuns: pages become runs of one kind.
func TestRuns(t *testing.T) {
	got := runs([]byte{0, pageRead, pageRead, pageWritten, 0, pageWritten, pageWritten}, 10)
	assert.Equal(t, []span{{10, 30, false}, {30, 40, true}, {50, 70, true}}, got)
	assert.Nil(t, runs([]byte{0, 0}, 10))
}
