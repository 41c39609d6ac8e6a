package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// bbolt's on-disk meta page, as far as checkFile reads it (the format is stable across
// bbolt 1.x): a 16-byte page header, then magic, version, page size, flags (4 bytes
// each), the root bucket (16), the freelist page id (8) and the high-water page id (8).
const (
	boltMagic         = 0xED0CDAED
	boltMetaMagic     = 16
	boltMetaPageSize  = 24
	boltMetaHighWater = 56
	boltMetaSize      = 64
)

// checkFile refuses a file bbolt would fault on: bbolt maps the file into memory and
// reads the pages its meta page says exist, so a truncated file crashes the process
// (SIGBUS) instead of failing to open. A missing or empty file is fine (bbolt creates
// it). The error wraps ErrCorrupt.
func checkFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	var meta0 [boltMetaSize]byte
	if _, err := io.ReadFull(f, meta0[:]); err != nil {
		return fmt.Errorf("%w: %s: %d bytes is too short for a journal", ErrCorrupt, path, fi.Size())
	}
	if binary.LittleEndian.Uint32(meta0[boltMetaMagic:]) != boltMagic {
		return fmt.Errorf("%w: %s is not a bolt database", ErrCorrupt, path)
	}
	pageSize := int64(binary.LittleEndian.Uint32(meta0[boltMetaPageSize:]))
	if pageSize < 512 || pageSize > 1<<20 {
		return fmt.Errorf("%w: %s: page size %d", ErrCorrupt, path, pageSize)
	}
	high := binary.LittleEndian.Uint64(meta0[boltMetaHighWater:])
	var meta1 [boltMetaSize]byte
	if _, err := f.ReadAt(meta1[:], pageSize); err == nil && binary.LittleEndian.Uint32(meta1[boltMetaMagic:]) == boltMagic {
		high = max(high, binary.LittleEndian.Uint64(meta1[boltMetaHighWater:]))
	}
	if need := int64(high) * pageSize; high > 1<<40 || fi.Size() < need {
		return fmt.Errorf("%w: %s is truncated: %d bytes, its pages need %d", ErrCorrupt, path, fi.Size(), need)
	}
	return nil
}
