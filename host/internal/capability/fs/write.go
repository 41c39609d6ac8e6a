package fs

import (
	"encoding/json"
	"fmt"
	iofs "io/fs"

	"github.com/onexhost/onex-host/host/internal/tx"
)

// defaultPerm is the permission bits of a file Write creates with perm 0.
const defaultPerm iofs.FileMode = 0o644

// Write replaces the file name with data, atomically: a reader sees the old
// content or data, never a mix (see the package comment). perm gives the
// file's permission bits exactly, whatever the umask; only its permission
// bits are used, and 0 keeps an existing file's bits or gives a new file
// 0o644. The parent directory must exist. The call blocks until the data
// and the rename are synced.
//
// With a non-nil t, Write first logs a tx.KindFSWrite operation holding
// the file's previous content and permissions (or that it did not exist)
// through t.Apply, and returns Apply's errors as they are. Write does not
// keep data.
//
// It returns an error wrapping ErrInvalidPath, ErrDenied or ErrEscape for a
// path it refuses, ErrReadOnly, ErrTooLarge when data is above
// Config.MaxWriteBytes or the before-image above Config.MaxUndoBytes,
// ErrNotFound when the parent directory does not exist, ErrWrongType when
// name is a directory, a symbolic link or a special file (ErrEscape for a
// symbolic link leading outside the grant), and ErrClosed.
func (rs *Roots) Write(t *tx.Tx, name string, data []byte, perm iofs.FileMode) error {
	p, err := rs.resolveMutable("write", name)
	if err != nil {
		return err
	}
	return rs.put(t, "write", p, data, perm, "")
}

// Copy writes a copy of the regular file from (in any granted directory,
// read-only ones included) to the path to, atomically and with from's
// permission bits, as Write does. The copy goes through memory, so from may
// be at most Config.MaxWriteBytes long.
//
// With a non-nil t it logs a tx.KindFSWrite operation on to, whose Detail
// names from. It returns the errors of Read for from and of Write for to.
func (rs *Roots) Copy(t *tx.Tx, from, to string) error {
	pf, err := rs.resolve("copy", from)
	if err != nil {
		return err
	}
	pt, err := rs.resolveMutable("copy", to)
	if err != nil {
		return err
	}
	fi, err := pf.r.os.Stat(pf.rel) // refuse a FIFO before opening it
	if err != nil {
		return pf.r.wrap("copy", pf.name, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: copy %s: not a regular file (%v)", ErrWrongType, pf.name, fi.Mode().Type())
	}
	data, tooLarge, err := pf.r.readAll(pf.rel, rs.cfg.MaxWriteBytes)
	if err != nil {
		return pf.r.wrap("copy", pf.name, err)
	}
	if tooLarge {
		return fmt.Errorf("%w: copy %s: above MaxWriteBytes (%d)", ErrTooLarge, pf.name, rs.cfg.MaxWriteBytes)
	}
	return rs.put(t, "copy", pt, data, fi.Mode().Perm(), pf.name)
}

// writeDetail is the Operation.Detail of a write or copy.
type writeDetail struct {
	Bytes      int    `json:"bytes"`
	CopiedFrom string `json:"copied_from,omitempty"`
}

// put is Write and Copy once the paths are resolved; from is Copy's source.
func (rs *Roots) put(t *tx.Tx, verb string, p place, data []byte, perm iofs.FileMode, from string) error {
	if int64(len(data)) > rs.cfg.MaxWriteBytes {
		return fmt.Errorf("%w: %s %s: %d bytes, above MaxWriteBytes (%d)", ErrTooLarge, verb, p.name, len(data), rs.cfg.MaxWriteBytes)
	}
	limit := int64(-1)
	if t != nil {
		limit = rs.cfg.MaxUndoBytes
	}
	img, err := p.r.image(p.rel, limit)
	if err != nil {
		return p.r.wrap(verb, p.name, err)
	}
	switch {
	case img.info != nil && img.info.IsDir():
		return fmt.Errorf("%w: %s %s: is a directory", ErrWrongType, verb, p.name)
	case img.info == nil:
		if err := p.r.isDir(verb, parentOf(p.rel)); err != nil {
			return err
		}
	}
	if perm &= iofs.ModePerm; perm == 0 {
		perm = defaultPerm
		if img.info != nil {
			perm = img.info.Mode().Perm()
		}
	}
	op, err := rs.operation(tx.KindFSWrite, p, img)
	if err != nil {
		return err
	}
	op.Detail, err = json.Marshal(writeDetail{Bytes: len(data), CopiedFrom: from})
	if err != nil {
		return fmt.Errorf("fs: %s %s: detail: %w", verb, p.name, err)
	}
	return apply(t, op, func() error {
		return p.r.wrap(verb, p.name, p.r.writeAtomic(p.rel, data, perm))
	})
}

// isDir returns nil if dir, a path inside r, is a directory (following
// symlinks inside r), and otherwise an error wrapping ErrNotFound,
// ErrWrongType or what else Stat says.
func (r *root) isDir(verb, dir string) error {
	fi, err := r.os.Stat(dir)
	if err != nil {
		return r.wrap(verb, r.name(dir), err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s %s: not a directory", ErrWrongType, verb, r.name(dir))
	}
	return nil
}
