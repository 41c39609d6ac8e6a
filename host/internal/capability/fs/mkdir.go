package fs

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"strings"

	"github.com/onexhost/onex-host/host/internal/tx"
)

// dirPerm is the permission bits Mkdir asks for; the umask applies.
const dirPerm iofs.FileMode = 0o755

// Mkdir creates the directory name with permission bits 0o755 less the
// umask. Without parents, the parent must exist and name must not; with
// parents, missing parents are created too and an existing directory is
// fine.
//
// With a non-nil t, Mkdir logs through t.Apply one tx.KindFSMkdir
// operation per directory it creates, outermost first, before creating it;
// a rollback removes each one that is empty. Apply's errors are returned as
// they are.
//
// It returns an error wrapping ErrInvalidPath, ErrDenied or ErrEscape for a
// path it refuses, ErrReadOnly, ErrExist when name exists (without
// parents), ErrNotFound when the parent does not exist (without parents),
// ErrWrongType when name or a parent is not a directory, and ErrClosed.
func (rs *Roots) Mkdir(t *tx.Tx, name string, parents bool) error {
	p, err := rs.resolveMutable("mkdir", name)
	if err != nil {
		return err
	}
	if !parents {
		if _, err := p.r.os.Lstat(p.rel); err == nil {
			return fmt.Errorf("%w: mkdir %s", ErrExist, p.name)
		} else if !errors.Is(err, iofs.ErrNotExist) {
			return p.r.wrap("mkdir", p.name, err)
		}
		if err := p.r.isDir("mkdir", parentOf(p.rel)); err != nil {
			return err
		}
		return rs.mkdirOne(t, p.r, p.rel)
	}
	// Find the outermost missing directory; Stat follows symlinks inside
	// the root, so a symlink to a directory counts as one.
	el := strings.Split(p.rel, "/")
	for i := range el {
		rel := strings.Join(el[:i+1], "/")
		fi, err := p.r.os.Stat(rel)
		switch {
		case err == nil && fi.IsDir():
			continue
		case err == nil:
			return fmt.Errorf("%w: mkdir %s: %s is not a directory", ErrWrongType, p.name, p.r.name(rel))
		case !errors.Is(err, iofs.ErrNotExist):
			return p.r.wrap("mkdir", p.name, err)
		}
		for j := i; j < len(el); j++ {
			if err := rs.mkdirOne(t, p.r, strings.Join(el[:j+1], "/")); err != nil {
				return err
			}
		}
		return nil
	}
	return nil
}

// mkdirOne creates directory rel, which did not exist, logging it in t.
func (rs *Roots) mkdirOne(t *tx.Tx, r *root, rel string) error {
	name := r.name(rel)
	op := tx.Operation{Kind: tx.KindFSMkdir, Service: r.service(), Target: name, Compensation: &tx.Compensation{}}
	return apply(t, op, func() error {
		return r.wrap("mkdir", name, r.os.Mkdir(rel, dirPerm))
	})
}
