package fs

import (
	"fmt"
	"os"

	"github.com/onexhost/onex-host/host/internal/tx"
)

// Move renames the regular file or directory from to the path to, inside
// one granted directory. A file replaces a file at to, atomically; a
// directory needs to to be free. Moving a file onto itself (also through
// another name for it) does nothing and logs nothing.
//
// With a non-nil t, Move first logs a tx.KindFSMove operation through
// t.Apply, with From set, holding what to held before (its content and
// permission bits, or that it did not exist). A rollback moves the entry
// back and then restores to. Apply's errors are returned as they are.
//
// It returns an error wrapping ErrInvalidPath, ErrDenied or ErrEscape for a
// path it refuses (ErrInvalidPath for a granted directory itself),
// ErrReadOnly, ErrCrossRoot when from and to are in different granted
// directories, ErrNotFound when from or to's parent does not exist,
// ErrExist when a directory would replace something, ErrWrongType for a
// symbolic link or special file, or a file onto a directory (ErrEscape for a
// symbolic link leading outside the grant), ErrTooLarge
// for a before-image above Config.MaxUndoBytes, and ErrClosed.
func (rs *Roots) Move(t *tx.Tx, from, to string) error {
	pf, err := rs.resolveMutable("move", from)
	if err != nil {
		return err
	}
	pt, err := rs.resolveMutable("move", to)
	if err != nil {
		return err
	}
	switch {
	case pf.r != pt.r:
		return fmt.Errorf("%w: move %s to %s", ErrCrossRoot, pf.name, pt.name)
	case pf.rel == "." || pt.rel == ".":
		return fmt.Errorf("%w: move %s to %s: a granted directory cannot be moved or replaced", ErrInvalidPath, pf.name, pt.name)
	}
	r := pf.r
	src, err := r.image(pf.rel, -1)
	switch {
	case err != nil:
		return r.wrap("move", pf.name, err)
	case src.info == nil:
		return fmt.Errorf("%w: move %s", ErrNotFound, pf.name)
	}
	limit := int64(-1)
	if t != nil {
		limit = rs.cfg.MaxUndoBytes
	}
	dst, err := r.image(pt.rel, limit)
	switch {
	case err != nil:
		return r.wrap("move", pt.name, err)
	case dst.info == nil:
		if err := r.isDir("move", parentOf(pt.rel)); err != nil {
			return err
		}
	case os.SameFile(src.info, dst.info):
		return nil
	case src.info.IsDir():
		return fmt.Errorf("%w: move directory %s onto %s", ErrExist, pf.name, pt.name)
	case dst.info.IsDir():
		return fmt.Errorf("%w: move file %s onto directory %s", ErrWrongType, pf.name, pt.name)
	}
	op, err := rs.operation(tx.KindFSMove, pt, dst)
	if err != nil {
		return err
	}
	op.From = pf.name
	return apply(t, op, func() error {
		return r.wrap("move", pf.name, r.os.Rename(pf.rel, pt.rel))
	})
}
