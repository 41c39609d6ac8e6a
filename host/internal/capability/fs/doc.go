// Package fs is the fs capability of effect nodes: file operations confined
// to the directories the operator granted a plugin, each read-write or
// read-only, with every change logged write-ahead in the attempt's
// transaction so that a rollback can undo it.
//
// # Naming files
//
// A guest names a file by a slash-separated path. An absolute path must be a
// granted directory or lie beneath one, spelled as the operator granted it:
// with /srv/data granted, the guest writes /srv/data/report.json, just as an
// Extism plugin sees the directory mounted at the same path. The host refuses
// a guest's relative path and any ".." element with [CheckGuestPath]
// (abi/SPEC.md section 8), before the path reaches Roots. Roots itself, for
// the host's own callers, takes a relative path relative to the first
// granted directory, drops empty and "." elements and leaves ".." to the
// operating system, so "/srv/data/a/../b" resolves and "/srv/data/../etc" is
// refused ([ErrEscape]). Grants may not overlap (New refuses /srv together with
// /srv/data), so every path belongs to at most one root and a symlink in one
// cannot reach around the read-only flag of another.
//
// # Confinement
//
// Each granted directory is opened once as an [os.Root], and every file
// system call goes through it: os.Root refuses ".." above the root,
// absolute symlinks and symlinks (also in parent directories) that lead
// outside it, and it resolves paths with openat, so a directory swapped for
// a symlink mid-call does not help either. This package adds no path-walking
// of its own; it only maps the guest's path to a root and a path inside it,
// and turns the operating system's refusals into the typed errors in
// errors.go: [ErrInvalidPath], [ErrDenied], [ErrEscape], [ErrReadOnly],
// [ErrNotFound] and the others.
//
// Mutations act on the named entry itself, never on what a final symlink
// points to: Write, Delete and Move refuse a path whose last element is a
// symlink, because a before-image could not restore it: [ErrEscape] when the
// link leads outside its granted directory (the guest is denied, as for any
// path out of its grant), [ErrWrongType] when it stays inside.
//
// # Writes and transactions
//
// Write (and Copy, which is a write of the source's bytes) is atomic: the
// data goes to a temporary file in the same directory, is synced, gets its
// permissions and is renamed over the target, and the directory is synced.
// A reader sees the old content or the new, never a mix. Temporary files are
// named ".onex-tmp-" followed by 16 hex digits; List hides them and guest
// paths may not use the prefix. A crash can leave one behind; nothing else
// does.
//
// Write, Delete, Move, Copy and Mkdir take the attempt's *tx.Tx (nil means
// no transaction) and call [tx.Tx.Apply] with an [tx.Operation] carrying the
// before-image, so a journal holds the intent before the change exists:
//
//   - Write and Copy record tx.KindFSWrite: the target's previous content and
//     permissions, or that it did not exist.
//   - Delete records tx.KindFSDelete: the file's content and permissions, or
//     for an empty directory its permissions with the fs.ModeDir bit.
//   - Move records tx.KindFSMove with From set: undoing it moves Target back
//     to From, then restores what Target held before.
//   - Mkdir records tx.KindFSMkdir, one operation per directory it creates,
//     outermost first, so a rollback removes the innermost first.
//
// A before-image larger than [Config.MaxUndoBytes] (16 MiB by default) makes
// the call fail with [ErrTooLarge] before anything is logged or changed,
// unless [Config.AllowIrreversible] is set, in which case the operation is
// logged as irreversible and a rollback reports it instead of undoing it.
//
// The [Compensator] undoes all four kinds. It needs nothing but the
// operation: it opens the directory named by Operation.Service (such as
// "fs:/srv/data") as an os.Root and restores the before-image there, so a
// journal can replay it after a crash without the plugin or its Roots. Every
// compensation restores a state ("make Target hold these bytes", "make
// Target absent") rather than reversing a step, so it is idempotent and
// harmless when the operation never ran.
//
// Transactions isolate nothing: two attempts writing the same file race as
// two processes would, and a rollback restores its own before-image over
// whatever the other wrote.
package fs
