package cowmem_test

import (
	"bytes"
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/internal/cowmem"
)

const page = 65536

// image returns n Wasm pages of a recognisable pattern.
func image(n int) []byte {
	b := make([]byte, n*page)
	for i := range b {
		b[i] = byte(i*7 + i/page)
	}
	return b
}

func newImage(t *testing.T, img []byte) *cowmem.Image {
	t.Helper()
	im, err := cowmem.New(img)
	if errors.Is(err, cowmem.ErrUnsupported) {
		t.Skip("copy-on-write memories need Linux:", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, im.Close()) })
	return im
}

// TestImage_StartsAsImage: a memory starts as the image, grows with zeros, stops at its
// limit, and what one memory writes no other memory, old or new, sees.
func TestImage_StartsAsImage(t *testing.T) {
	img := image(3)
	im := newImage(t, img)
	assert.Equal(t, len(img), im.Size())

	a := im.Allocate(0, 8*page)
	buf := a.Reallocate(3 * page)
	require.Len(t, buf, 3*page)
	assert.True(t, bytes.Equal(img, buf))

	b := im.Allocate(0, 8*page)
	bbuf := b.Reallocate(3 * page)
	buf[0], buf[2*page+5] = 0xAA, 0xBB
	assert.Equal(t, img[0], bbuf[0], "a write shows in another memory")
	assert.Equal(t, img[2*page+5], bbuf[2*page+5])
	c := im.Allocate(0, 8*page).Reallocate(3 * page)
	assert.True(t, bytes.Equal(img, c), "a write shows in a new memory")

	grown := a.Reallocate(5 * page)
	require.Len(t, grown, 5*page)
	assert.Equal(t, byte(0xAA), grown[0], "growing lost what was written")
	assert.Equal(t, make([]byte, 2*page), grown[3*page:], "new pages are not zero")
	grown[5*page-1] = 1 // writable to its end
	assert.Nil(t, a.Reallocate(9*page), "grew past the limit")
	a.Free()
	b.Free()
}

// TestImage_AfterClose: memories allocated before Close keep the image; later ones are
// heap copies of it, with the same contents.
func TestImage_AfterClose(t *testing.T) {
	img := image(2)
	im, err := cowmem.New(img)
	if errors.Is(err, cowmem.ErrUnsupported) {
		t.Skip(err)
	}
	require.NoError(t, err)
	before := im.Allocate(0, 4*page)
	require.NoError(t, im.Close())
	require.NoError(t, im.Close(), "Close is idempotent")
	assert.True(t, bytes.Equal(img, before.Reallocate(2*page)))
	after := im.Allocate(0, 4*page)
	buf := after.Reallocate(3 * page)
	assert.True(t, bytes.Equal(img, buf[:2*page]))
	assert.Equal(t, make([]byte, page), buf[2*page:])
	before.Free()
	after.Free()
}

// TestNew_RefusesPartialPages: an image must be whole Wasm pages, as a memory is.
func TestNew_RefusesPartialPages(t *testing.T) {
	_, err := cowmem.New(make([]byte, page+1))
	require.Error(t, err)
}

// TestImage_Hammer: many goroutines allocate, write their own mark over every page, check
// it and free, while others read the image: every memory sees exactly the image plus its
// own writes.
func TestImage_Hammer(t *testing.T) {
	img := image(4)
	im := newImage(t, img)
	const goroutines, rounds = 32, 20
	var wg sync.WaitGroup
	errs := make(chan string, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for r := range rounds {
				m := im.Allocate(0, 16*page)
				buf := m.Reallocate(4 * page)
				if !bytes.Equal(img, buf) {
					errs <- "a new memory is not the image"
					m.Free()
					return
				}
				mark := byte(g*rounds + r)
				for at := 0; at < len(buf); at += 4096 {
					buf[at] = mark
				}
				runtime.Gosched()
				for at := 0; at < len(buf); at += 4096 {
					if buf[at] != mark {
						errs <- "another memory's write showed"
						m.Free()
						return
					}
				}
				m.Free()
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
