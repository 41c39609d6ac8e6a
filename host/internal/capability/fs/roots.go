package fs

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/onexhost/onex-host/host/internal/tx"
)

// tmpPrefix starts the name of every temporary file an atomic write makes.
// Guest paths may not use it, and List hides it.
const tmpPrefix = ".onex-tmp-"

// Roots is one plugin's view of the file system: the granted directories,
// each opened once, and the operations on files beneath them. Create it
// with New and Close it when the plugin is unloaded.
//
// Roots is safe for concurrent use by multiple goroutines. Its operations
// block on file system calls and take no context: a local file operation
// cannot be interrupted halfway.
type Roots struct {
	cfg    Config
	roots  []*root
	closed atomic.Bool
}

// New opens every granted directory and returns the Roots over them. It
// returns an error wrapping ErrInvalidConfig for a negative limit, an empty
// or relative directory, or two grants of which one contains the other
// (including the same directory twice), and the operating system's error
// for a directory it cannot open. On error nothing stays open.
func New(cfg Config) (*Roots, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rs := &Roots{cfg: cfg}
	for _, g := range cfg.Grants {
		r, err := newGrant(g, rs.roots)
		if err != nil {
			_ = rs.Close() // the error that matters is err
			return nil, err
		}
		rs.roots = append(rs.roots, r)
	}
	return rs, nil
}

// newGrant opens g after checking it against the roots opened before.
func newGrant(g Grant, opened []*root) (*root, error) {
	if g.Dir == "" {
		return nil, fmt.Errorf("%w: grant with an empty directory", ErrInvalidConfig)
	}
	r, err := openRoot(g.Dir, g.ReadOnly)
	if err != nil {
		return nil, fmt.Errorf("fs: grant %s: %w", g.Dir, err)
	}
	for _, o := range opened {
		if _, in := o.relOf(r.elems); in {
			_ = r.os.Close()
			return nil, fmt.Errorf("%w: grant %s lies in grant %s", ErrInvalidConfig, r.dir, o.dir)
		}
		if _, in := r.relOf(o.elems); in {
			_ = r.os.Close()
			return nil, fmt.Errorf("%w: grant %s contains grant %s", ErrInvalidConfig, r.dir, o.dir)
		}
	}
	return r, nil
}

// Close closes every granted directory. Operations that start afterwards
// return ErrClosed; those already running finish or fail with ErrClosed.
// Calling Close again does nothing and returns nil.
func (rs *Roots) Close() error {
	if rs.closed.Swap(true) {
		return nil
	}
	var errs []error
	for _, r := range rs.roots {
		if err := r.os.Close(); err != nil {
			errs = append(errs, fmt.Errorf("fs: close %s: %w", r.dir, err))
		}
	}
	return errors.Join(errs...)
}

// place is a guest path resolved to a root.
type place struct {
	r    *root
	rel  string // the path inside r.os; "." is the granted directory itself
	name string // the guest path in canonical form: r.dir joined with rel
}

// resolve maps the guest path p to its root. It checks only the spelling;
// os.Root refuses escapes when the path is used.
func (rs *Roots) resolve(op, p string) (place, error) {
	switch {
	case rs.closed.Load():
		return place{}, fmt.Errorf("%w: %s %q", ErrClosed, op, p)
	case p == "":
		return place{}, fmt.Errorf("%w: %s: empty path", ErrInvalidPath, op)
	case strings.IndexByte(p, 0) >= 0:
		return place{}, fmt.Errorf("%w: %s %q: NUL byte in path", ErrInvalidPath, op, p)
	}
	el := elements(p)
	for _, e := range el {
		if strings.HasPrefix(e, tmpPrefix) {
			return place{}, fmt.Errorf("%w: %s %q: the prefix %s is reserved", ErrInvalidPath, op, p, tmpPrefix)
		}
	}
	if !strings.HasPrefix(p, "/") {
		if len(rs.roots) == 0 {
			return place{}, fmt.Errorf("%w: %s %q: no directory is granted", ErrDenied, op, p)
		}
		r := rs.roots[0]
		rel := "."
		if len(el) > 0 {
			rel = strings.Join(el, "/")
		}
		return place{r: r, rel: rel, name: r.name(rel)}, nil
	}
	for _, r := range rs.roots {
		if rel, ok := r.relOf(el); ok {
			return place{r: r, rel: rel, name: r.name(rel)}, nil
		}
	}
	return place{}, fmt.Errorf("%w: %s %q: outside every granted directory", ErrDenied, op, p)
}

// CheckGuestPath returns nil for a path a guest may name (abi/SPEC.md section 8):
// absolute, with no ".." element, and otherwise an error wrapping ErrInvalidPath,
// whether or not the path would stay inside a grant. The host checks every path of a
// guest's fs request with it before the operation; Roots itself also takes relative
// paths (in the first grant) and resolves "..", for the host's own callers.
func CheckGuestPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("%w: %q is not absolute: name it from its granted directory (for /srv/data: /srv/data/in.json)", ErrInvalidPath, p)
	}
	for e := range strings.SplitSeq(p, "/") {
		if e == ".." {
			return fmt.Errorf("%w: %q has a \"..\" element", ErrInvalidPath, p)
		}
	}
	return nil
}

// resolveMutable is resolve for an operation that changes the file system.
func (rs *Roots) resolveMutable(op, p string) (place, error) {
	pl, err := rs.resolve(op, p)
	if err == nil && pl.r.readOnly {
		err = fmt.Errorf("%w: %s %s", ErrReadOnly, op, pl.name)
	}
	return pl, err
}

// apply performs do as op in t, or just performs it when t is nil.
func apply(t *tx.Tx, op tx.Operation, do func() error) error {
	if t == nil {
		return do()
	}
	return t.Apply(op, do)
}

// operation returns the operation of kind on p whose before-image is img,
// or ErrTooLarge if img is too large and irreversible operations are not
// allowed.
func (rs *Roots) operation(kind string, p place, img image) (tx.Operation, error) {
	op := tx.Operation{Kind: kind, Service: p.r.service(), Target: p.name}
	switch {
	case !img.tooLarge:
		op.Compensation = img.compensation()
	case rs.cfg.AllowIrreversible:
		op.Irreversible = true
	default:
		return op, fmt.Errorf("%w: %s: before-image of %s is %d bytes, above MaxUndoBytes (%d)",
			ErrTooLarge, kind, p.name, img.info.Size(), rs.cfg.MaxUndoBytes)
	}
	return op, nil
}

// RootOf returns the granted directory that p falls in (the first grant for a relative
// path, as for every operation), or the first grant when p falls in none, or "" without
// grants. It names the directory whose circuit breaker a call on p counts towards.
func (rs *Roots) RootOf(p string) string {
	if pl, err := rs.resolve("resolve", p); err == nil {
		return pl.r.dir
	}
	if len(rs.roots) > 0 {
		return rs.roots[0].dir
	}
	return ""
}
