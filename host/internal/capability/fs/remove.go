package fs

import (
	"errors"
	"fmt"
	"io"

	"github.com/onexhost/onex-host/host/internal/tx"
)

// Delete removes the regular file or empty directory name. A granted
// directory itself cannot be deleted.
//
// With a non-nil t, Delete first logs a tx.KindFSDelete operation through
// t.Apply holding what a rollback needs to recreate it: a file's content
// and permission bits, or a directory's permission bits with fs.ModeDir.
// Apply's errors are returned as they are.
//
// It returns an error wrapping ErrInvalidPath, ErrDenied or ErrEscape for a
// path it refuses (ErrInvalidPath for a granted directory), ErrReadOnly,
// ErrNotFound, ErrNotEmpty for a directory with entries, ErrWrongType for a
// symbolic link or special file (ErrEscape for a symbolic link leading
// outside the grant), ErrTooLarge for a file above
// Config.MaxUndoBytes in a transaction, and ErrClosed.
func (rs *Roots) Delete(t *tx.Tx, name string) error {
	p, err := rs.resolveMutable("delete", name)
	if err != nil {
		return err
	}
	if p.rel == "." {
		return fmt.Errorf("%w: delete %s: a granted directory cannot be deleted", ErrInvalidPath, p.name)
	}
	limit := int64(-1)
	if t != nil {
		limit = rs.cfg.MaxUndoBytes
	}
	img, err := p.r.image(p.rel, limit)
	switch {
	case err != nil:
		return p.r.wrap("delete", p.name, err)
	case img.info == nil:
		return fmt.Errorf("%w: delete %s", ErrNotFound, p.name)
	case img.info.IsDir():
		if err := p.r.isEmpty("delete", p.rel); err != nil {
			return err
		}
	}
	op, err := rs.operation(tx.KindFSDelete, p, img)
	if err != nil {
		return err
	}
	return apply(t, op, func() error {
		return p.r.wrap("delete", p.name, p.r.os.Remove(p.rel))
	})
}

// isEmpty returns nil if directory rel has no entries, an error wrapping
// ErrNotEmpty if it has some, or the error that kept it from looking.
func (r *root) isEmpty(verb, rel string) error {
	d, err := r.os.Open(rel)
	if err != nil {
		return r.wrap(verb, r.name(rel), err)
	}
	names, err := d.Readdirnames(1)
	_ = d.Close() // read-only: a close error loses nothing
	switch {
	case len(names) > 0:
		return fmt.Errorf("%w: %s %s", ErrNotEmpty, verb, r.name(rel))
	case err != nil && !errors.Is(err, io.EOF):
		return r.wrap(verb, r.name(rel), err)
	}
	return nil
}
