package fs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	iofs "io/fs"
	"math/rand/v2"
	"os"
	"strings"
)

// writeAtomic replaces rel with data and the permission bits perm, so that
// a reader sees either the old file or the new one: it writes a temporary
// file in the same directory, syncs it, renames it over rel and syncs the
// directory. It leaves no temporary file behind when it fails; when the
// process dies first, the compensation of the write removes it (its name
// carries tempTag(rel)). It does not look at what rel held; the caller does.
func (r *root) writeAtomic(rel string, data []byte, perm iofs.FileMode) (err error) {
	dir := parentOf(rel)
	f, tmp, err := r.createTemp(dir, tempTag(rel))
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

// tempTag names the temporary files of writes to rel: tmpPrefix, 16 hex
// digits of SHA-256(rel), a dash. A compensation finds them by it.
func tempTag(rel string) string {
	sum := sha256.Sum256([]byte(rel))
	return tmpPrefix + hex.EncodeToString(sum[:8]) + "-"
}

// createTemp creates a new, empty temporary file in dir named tag and a
// random suffix.
func (r *root) createTemp(dir, tag string) (*os.File, string, error) {
	for range 16 {
		tmp := join(dir, fmt.Sprintf("%s%016x", tag, rand.Uint64()))
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

// removeTemps removes the temporary files a write to rel left behind when
// its process died between creating and renaming them. A write to rel in
// flight now loses its temporary file and fails; a compensation of rel runs
// when no write to rel can still succeed anyway.
func (r *root) removeTemps(rel string) error {
	dir := parentOf(rel)
	d, err := r.os.Open(dir)
	if errors.Is(err, iofs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return r.wrap("clean up", r.name(dir), err)
	}
	names, err := d.Readdirnames(-1)
	_ = d.Close() // read-only
	if err != nil {
		return r.wrap("clean up", r.name(dir), err)
	}
	tag := tempTag(rel)
	for _, n := range names {
		if strings.HasPrefix(n, tag) {
			if err := r.os.Remove(join(dir, n)); err != nil && !errors.Is(err, iofs.ErrNotExist) {
				return r.wrap("clean up", r.name(join(dir, n)), err)
			}
		}
	}
	return nil
}
