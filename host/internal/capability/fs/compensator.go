package fs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"strings"

	"github.com/onexhost/onex-host/host/internal/tx"
)

// Compensator undoes the operations Roots logs: tx.KindFSWrite (also
// Copy's), tx.KindFSDelete, tx.KindFSMove and tx.KindFSMkdir. It needs no
// Roots: it opens the directory named by Operation.Service as an os.Root for
// each call and restores the before-image beneath it, so paths stay
// confined to that directory, and a journal can replay a rollback after a
// crash. Register it with Compensators.
//
// Each compensation restores a state rather than reversing a step, so it is
// idempotent and succeeds when the operation never ran:
//
//   - write and delete: make Target hold Compensation.Previous with its
//     permission bits (or be the directory it was), or be absent if it did
//     not exist. A file that already holds those bytes and bits is left
//     alone. A write's compensation also removes the temporary files of
//     writes to Target that a crash left behind.
//   - move: if Target exists and From does not, move Target back to From;
//     then restore Target as for a write.
//   - mkdir: remove Target if it was created and is an empty directory; a
//     directory that is not empty is left, and reported with ErrNotEmpty.
//
// A path whose directory does not exist is left alone: the operation
// checked that it existed, so the tree is in a state older than the
// operation, as when a whole rollback is replayed after a crash and newer
// compensations already removed the directory. One case a replay cannot
// tell apart: a move's From that was absent before the move, in a directory
// that exists, and a Target that exists; the Target is moved to From, and
// the compensation of the operation that created From removes it again.
//
// The zero value is ready to use. A Compensator is safe for concurrent use
// by multiple goroutines. It blocks on file system calls; ctx is checked
// only before it starts.
type Compensator struct{}

// Compensators returns a new map from each fs kind to a Compensator, for
// tx.Config.Compensators.
func Compensators() map[string]tx.Compensator {
	var c Compensator
	return map[string]tx.Compensator{
		tx.KindFSWrite:  c,
		tx.KindFSDelete: c,
		tx.KindFSMove:   c,
		tx.KindFSMkdir:  c,
	}
}

// Compensate restores op's before-image. It returns ctx's error if ctx is
// already done; an error wrapping ErrInvalidPath for an operation that is
// not an fs kind, has no compensation, or whose Service or paths do not
// name a directory and paths beneath it; the operating system's error (with
// this package's sentinel, such as ErrEscape) when restoring fails; and
// ErrNotEmpty for a created directory that has entries now.
func (Compensator) Compensate(ctx context.Context, op tx.Operation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := op.Compensation
	dir, ok := strings.CutPrefix(op.Service, servicePrefix)
	if !ok || c == nil {
		return fmt.Errorf("%w: compensate op %d (%s): service %q is not fs, or there is no compensation", ErrInvalidPath, op.Seq, op.Kind, op.Service)
	}
	r, err := openRoot(dir, false)
	if err != nil {
		return fmt.Errorf("fs: compensate op %d (%s): open %s: %w", op.Seq, op.Kind, dir, err)
	}
	defer r.os.Close() // nothing was written through the handle itself
	rel, err := r.inside(op.Target)
	if err != nil {
		return err
	}
	switch op.Kind {
	case tx.KindFSWrite:
		if err := r.removeTemps(rel); err != nil {
			return err
		}
		return r.restore(rel, c)
	case tx.KindFSDelete:
		return r.restore(rel, c)
	case tx.KindFSMove:
		from, err := r.inside(op.From)
		if err != nil {
			return err
		}
		if err := r.unmove(from, rel); err != nil {
			return err
		}
		return r.restore(rel, c)
	case tx.KindFSMkdir:
		if c.Existed {
			return nil
		}
		return r.rmdir(rel)
	}
	return fmt.Errorf("%w: compensate op %d: kind %q is not an fs kind", ErrInvalidPath, op.Seq, op.Kind)
}

// inside returns the path inside r of the guest path p, refusing a path
// that is not absolute or not beneath r.dir.
func (r *root) inside(p string) (string, error) {
	if !strings.HasPrefix(p, "/") || strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("%w: compensate: %q is not an absolute path", ErrInvalidPath, p)
	}
	rel, ok := r.relOf(elements(p))
	if !ok {
		return "", fmt.Errorf("%w: compensate: %s is not in %s", ErrInvalidPath, p, r.dir)
	}
	return rel, nil
}

// restore makes rel match the before-image c of a write or delete.
func (r *root) restore(rel string, c *tx.Compensation) error {
	name := r.name(rel)
	fi, err := r.os.Lstat(rel)
	exists := err == nil
	if err != nil && !errors.Is(err, iofs.ErrNotExist) {
		return r.wrap("restore", name, err)
	}
	if !exists {
		if gone, err := r.parentGone(rel); gone || err != nil {
			return err
		}
	}
	mode := iofs.FileMode(c.Mode)
	perm := mode.Perm()
	switch {
	case !c.Existed:
		if !exists {
			return nil
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%w: restore %s: want it absent, found a %v", ErrWrongType, name, fi.Mode().Type())
		}
		return r.wrap("restore", name, r.os.Remove(rel))
	case mode.IsDir():
		if exists && !fi.IsDir() {
			return fmt.Errorf("%w: restore %s: want a directory, found a %v", ErrWrongType, name, fi.Mode().Type())
		}
		if !exists {
			if err := r.os.Mkdir(rel, perm); err != nil {
				return r.wrap("restore", name, err)
			}
		}
		return r.wrap("restore", name, r.chmod(rel, perm))
	case exists && fi.Mode().IsRegular() && fi.Mode().Perm() == perm && fi.Size() == int64(len(c.Previous)):
		cur, tooLarge, err := r.readAll(rel, int64(len(c.Previous)))
		if err != nil {
			return r.wrap("restore", name, err)
		}
		if !tooLarge && bytes.Equal(cur, c.Previous) {
			return nil
		}
	case exists && !fi.Mode().IsRegular():
		return fmt.Errorf("%w: restore %s: want a file, found a %v", ErrWrongType, name, fi.Mode().Type())
	}
	return r.wrap("restore", name, r.writeAtomic(rel, c.Previous, perm))
}

// parentGone reports whether the directory that would hold rel does not
// exist. A compensation then leaves rel alone: the file system is in a state
// older than the operation, which checked that the directory existed, as
// when a rollback is replayed after a crash and newer compensations have
// already removed the directory. Restoring rel there would be wrong.
func (r *root) parentGone(rel string) (bool, error) {
	_, err := r.os.Stat(parentOf(rel))
	switch {
	case errors.Is(err, iofs.ErrNotExist):
		return true, nil
	case err != nil:
		return false, r.wrap("restore", r.name(rel), err)
	}
	return false, nil
}

// chmod sets the permission bits of directory rel through an open handle,
// so a symlink swapped in meanwhile cannot redirect it.
func (r *root) chmod(rel string, perm iofs.FileMode) error {
	d, err := r.os.Open(rel)
	if err != nil {
		return err
	}
	if err := d.Chmod(perm); err != nil {
		_ = d.Close() // Chmod's error is the one to report
		return err
	}
	return d.Close()
}

// unmove moves to back to from if the move happened: to exists and from
// does not, though its directory does.
func (r *root) unmove(from, to string) error {
	_, err := r.os.Lstat(from)
	switch {
	case err == nil:
		return nil // the move never happened, or was undone already
	case !errors.Is(err, iofs.ErrNotExist):
		return r.wrap("unmove", r.name(from), err)
	}
	if gone, err := r.parentGone(from); gone || err != nil {
		return err
	}
	if _, err := r.os.Lstat(to); errors.Is(err, iofs.ErrNotExist) {
		return nil
	} else if err != nil {
		return r.wrap("unmove", r.name(to), err)
	}
	return r.wrap("unmove", r.name(to), r.os.Rename(to, from))
}

// rmdir removes directory rel if it exists and is empty.
func (r *root) rmdir(rel string) error {
	name := r.name(rel)
	fi, err := r.os.Lstat(rel)
	switch {
	case errors.Is(err, iofs.ErrNotExist):
		return nil
	case err != nil:
		return r.wrap("rmdir", name, err)
	case !fi.IsDir():
		return fmt.Errorf("%w: rmdir %s: not a directory", ErrWrongType, name)
	}
	if err := r.isEmpty("rmdir", rel); err != nil {
		return err
	}
	err = r.os.Remove(rel)
	if errors.Is(err, iofs.ErrNotExist) {
		return nil
	}
	return r.wrap("rmdir", name, err)
}
