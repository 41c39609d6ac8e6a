package fs

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// servicePrefix starts Operation.Service for the fs kinds: "fs:" and the
// granted directory.
const servicePrefix = "fs:"

// errEscapeUnknown stands in for os.Root's escape error if it could not be
// captured; it matches nothing os.Root returns.
var errEscapeUnknown = errors.New("fs: escape error not captured")

// root is one granted directory opened as an os.Root. Its fields do not
// change after openRoot, and os.Root is safe for concurrent use, so a root
// is too.
type root struct {
	dir      string   // absolute and cleaned; guest paths start with it
	elems    []string // dir split into its elements
	readOnly bool
	os       *os.Root
	// escape is the error os.Root wraps when a path leaves the root. It is
	// unexported in package os, so openRoot captures it by asking for "..".
	escape error
}

// openRoot opens dir, which must be absolute, as a root.
func openRoot(dir string, readOnly bool) (*root, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("%w: directory %q is not absolute", ErrInvalidConfig, dir)
	}
	dir = filepath.Clean(dir)
	osr, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	r := &root{dir: dir, elems: elements(filepath.ToSlash(dir)), readOnly: readOnly, os: osr, escape: errEscapeUnknown}
	var pe *iofs.PathError
	if _, err := osr.Stat(".."); errors.As(err, &pe) && pe.Err != nil {
		r.escape = pe.Err
	}
	return r, nil
}

// service returns the Operation.Service naming r.
func (r *root) service() string { return servicePrefix + r.dir }

// name returns the guest path of rel, a path inside r.
func (r *root) name(rel string) string {
	switch {
	case rel == ".":
		return r.dir
	case strings.HasSuffix(r.dir, "/"):
		return r.dir + rel
	}
	return r.dir + "/" + rel
}

// relOf returns the path inside r of the absolute path p, split into
// elements, and whether p is r.dir or beneath it.
func (r *root) relOf(el []string) (string, bool) {
	if len(el) < len(r.elems) || !slices.Equal(el[:len(r.elems)], r.elems) {
		return "", false
	}
	if len(el) == len(r.elems) {
		return ".", true
	}
	return strings.Join(el[len(r.elems):], "/"), true
}

// kind returns the sentinel error that describes err, or nil.
func (r *root) kind(err error) error {
	switch {
	case errors.Is(err, r.escape):
		return ErrEscape
	case errors.Is(err, iofs.ErrNotExist):
		return ErrNotFound
	case errors.Is(err, iofs.ErrPermission):
		return ErrDenied
	case errors.Is(err, syscall.ENOTEMPTY): // before ErrExist, which matches it too
		return ErrNotEmpty
	case errors.Is(err, iofs.ErrExist):
		return ErrExist
	case errors.Is(err, iofs.ErrClosed):
		return ErrClosed
	case errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EISDIR):
		return ErrWrongType
	}
	return nil
}

// wrap adds the operation and guest path to err and, when err is an
// operating system error this package has a sentinel for, the sentinel.
func (r *root) wrap(op, name string, err error) error {
	if err == nil {
		return nil
	}
	if k := r.kind(err); k != nil && !errors.Is(err, k) {
		return fmt.Errorf("%w: %s %s: %w", k, op, name, err)
	}
	return fmt.Errorf("fs: %s %s: %w", op, name, err)
}

// elements splits a slash-separated path into its elements, dropping empty
// and "." ones. ".." is kept: os.Root resolves it.
func elements(p string) []string {
	var out []string
	for e := range strings.SplitSeq(p, "/") {
		if e != "" && e != "." {
			out = append(out, e)
		}
	}
	return out
}

// parentOf returns the directory part of rel without cleaning it, since
// cleaning ".." lexically disagrees with the file system when a symlink
// precedes it.
func parentOf(rel string) string {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "."
	}
	return rel[:i]
}

// join appends name to the directory rel.
func join(rel, name string) string {
	if rel == "." {
		return name
	}
	return rel + "/" + name
}
