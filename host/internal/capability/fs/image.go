package fs

import (
	"errors"
	"fmt"
	"io"
	iofs "io/fs"

	"github.com/onexhost/onex-host/host/internal/tx"
)

// image is what a path held before an operation: its before-image.
type image struct {
	info     iofs.FileInfo // from Lstat; nil when nothing was there
	data     []byte        // a regular file's content, when asked for and not too large
	tooLarge bool          // a regular file's content was asked for and is above the limit
}

// image takes the before-image of rel. With a negative limit it does not
// read a regular file's content; otherwise content above limit bytes sets
// tooLarge. A symbolic link or special file is refused with ErrWrongType:
// nothing could restore it; a symbolic link that leads out of r (or would, once
// created) with ErrEscape, as every other path out of the grant is.
func (r *root) image(rel string, limit int64) (image, error) {
	fi, err := r.os.Lstat(rel)
	switch {
	case errors.Is(err, iofs.ErrNotExist):
		return image{}, nil
	case err != nil:
		return image{}, err
	case fi.IsDir():
		return image{info: fi}, nil
	case fi.Mode()&iofs.ModeSymlink != 0 && r.escapes(rel):
		return image{}, fmt.Errorf("%w: %s is a symbolic link leading out of %s", ErrEscape, rel, r.dir)
	case !fi.Mode().IsRegular():
		return image{}, fmt.Errorf("%w: %s is a %v", ErrWrongType, rel, fi.Mode().Type())
	case limit < 0:
		return image{info: fi}, nil
	case fi.Size() > limit:
		return image{info: fi, tooLarge: true}, nil
	}
	data, tooLarge, err := r.readAll(rel, limit)
	if err != nil {
		return image{}, err
	}
	return image{info: fi, data: data, tooLarge: tooLarge}, nil
}

// escapes reports whether following the symbolic link rel leaves r: os.Root
// follows links inside the root only, and says so (for a dangling link too).
func (r *root) escapes(rel string) bool {
	_, err := r.os.Stat(rel)
	return errors.Is(err, r.escape)
}

// compensation returns the Compensation that restores img: the content and
// permission bits of a file, the fs.ModeDir bit and permission bits of a
// directory, or Existed false.
func (img image) compensation() *tx.Compensation {
	if img.info == nil {
		return &tx.Compensation{}
	}
	return &tx.Compensation{
		Existed:  true,
		Previous: img.data,
		Mode:     uint32(img.info.Mode() & (iofs.ModeDir | iofs.ModePerm)),
	}
}

// readAll reads the regular file rel, up to limit bytes; tooLarge reports a
// file that turned out longer.
func (r *root) readAll(rel string, limit int64) (data []byte, tooLarge bool, err error) {
	f, err := r.os.Open(rel)
	if err != nil {
		return nil, false, err
	}
	defer f.Close() // read-only: a close error loses nothing
	fi, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	if !fi.Mode().IsRegular() {
		return nil, false, fmt.Errorf("%w: %s is a %v", ErrWrongType, rel, fi.Mode().Type())
	}
	if fi.Size() > limit {
		return nil, true, nil
	}
	buf := make([]byte, 0, fi.Size()+1) // +1 so a file at the limit reads to EOF without growing
	data, err = readInto(buf, io.LimitReader(f, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(data)) > limit {
		return nil, true, nil
	}
	return data, false, nil
}

// readInto appends everything from rd to buf.
func readInto(buf []byte, rd io.Reader) ([]byte, error) {
	for {
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}
