package fs

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"slices"
	"strings"
	"time"
)

// Read returns the content of the regular file name. maxBytes bounds it;
// zero or less, or more than Config.MaxReadBytes, means MaxReadBytes. The
// returned slice is a new copy the caller owns.
//
// A file longer than the bound is not read in part: Read returns an error
// wrapping ErrTooLarge. It also returns ErrInvalidPath, ErrDenied or
// ErrEscape for a path it refuses, ErrNotFound, ErrWrongType for a
// directory or special file, and ErrClosed. Read works in read-only and
// read-write directories alike.
func (rs *Roots) Read(name string, maxBytes int64) ([]byte, error) {
	p, err := rs.resolve("read", name)
	if err != nil {
		return nil, err
	}
	limit := rs.cfg.MaxReadBytes
	if maxBytes > 0 && maxBytes < limit {
		limit = maxBytes
	}
	// Stat first (it follows symlinks inside the root) so that a FIFO is
	// refused before an open that would block on it.
	fi, err := p.r.os.Stat(p.rel)
	if err != nil {
		return nil, p.r.wrap("read", p.name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: read %s: not a regular file (%v)", ErrWrongType, p.name, fi.Mode().Type())
	}
	data, tooLarge, err := p.r.readAll(p.rel, limit)
	if err != nil {
		return nil, p.r.wrap("read", p.name, err)
	}
	if tooLarge {
		return nil, fmt.Errorf("%w: read %s: above the limit of %d bytes", ErrTooLarge, p.name, limit)
	}
	return data, nil
}

// Entry describes one directory entry listed by List.
type Entry struct {
	Name    string    // the entry's name, without its directory
	Size    int64     // in bytes, as the file system reports it (for a directory, not its contents)
	IsDir   bool      // a directory, or a symlink to one inside the same root
	ModTime time.Time // last modification
}

// List returns the entries of directory name sorted by Name, leaving out
// the temporary files of writes in progress. A symbolic link is described
// by what it points to when that is inside the root, and as itself
// otherwise. An entry removed while List runs is left out.
//
// It returns ErrInvalidPath, ErrDenied or ErrEscape for a path it refuses,
// ErrNotFound, ErrWrongType when name is not a directory, and ErrClosed.
func (rs *Roots) List(name string) ([]Entry, error) {
	p, err := rs.resolve("list", name)
	if err != nil {
		return nil, err
	}
	d, err := p.r.os.Open(p.rel)
	if err != nil {
		return nil, p.r.wrap("list", p.name, err)
	}
	names, err := d.Readdirnames(-1)
	_ = d.Close() // read-only: a close error loses nothing
	if err != nil {
		return nil, p.r.wrap("list", p.name, err)
	}
	out := make([]Entry, 0, len(names))
	for _, n := range names {
		if strings.HasPrefix(n, tmpPrefix) {
			continue
		}
		// Stat and Lstat through the root, not the *os.File's entries,
		// whose Info looks the path up outside it.
		rel := join(p.rel, n)
		fi, err := p.r.os.Stat(rel)
		if err != nil {
			fi, err = p.r.os.Lstat(rel)
		}
		if errors.Is(err, iofs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, p.r.wrap("list", p.r.name(rel), err)
		}
		out = append(out, Entry{Name: n, Size: fi.Size(), IsDir: fi.IsDir(), ModTime: fi.ModTime()})
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
