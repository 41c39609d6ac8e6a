package fs

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"math/rand/v2"
	"os"
)

// writeAtomic replaces rel with data and the permission bits perm, so that
// a reader sees either the old file or the new one: it writes a temporary
// file in the same directory, syncs it, renames it over rel and syncs the
// directory. It leaves no temporary file behind when it fails (unless the
// process dies first). It does not look at what rel held; the caller does.
func (r *root) writeAtomic(rel string, data []byte, perm iofs.FileMode) (err error) {
	dir := parentOf(rel)
	f, tmp, err := r.createTemp(dir)
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if err != nil && !renamed {
			// The write already failed; these only clean up, and a
			// failure here cannot be reported better than err.
			_ = f.Close()
			_ = r.os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(perm & iofs.ModePerm); err != nil { // exact bits, whatever the umask
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = r.os.Rename(tmp, rel); err != nil {
		return err
	}
	renamed = true
	return r.syncDir(dir)
}

// createTemp creates a new, empty temporary file in dir with a random name
// that starts with tmpPrefix.
func (r *root) createTemp(dir string) (*os.File, string, error) {
	for range 16 {
		tmp := join(dir, fmt.Sprintf("%s%016x", tmpPrefix, rand.Uint64()))
		f, err := r.os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, iofs.ErrExist) {
			continue
		}
		return f, tmp, err
	}
	return nil, "", fmt.Errorf("fs: no free temporary file name in %s", dir)
}

// syncDir makes the entries of directory dir durable, so a rename in it
// survives a crash.
func (r *root) syncDir(dir string) error {
	d, err := r.os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close() // Sync's error is the one to report
		return err
	}
	return d.Close()
}
