package fs

import "errors"

var (
	// ErrInvalidConfig is returned by New when a grant is empty, relative,
	// not a directory, or overlaps another, or when a limit is negative.
	ErrInvalidConfig = errors.New("fs: invalid config")
	// ErrInvalidPath is returned for a path that is empty, contains a NUL
	// byte, or uses the reserved temporary-file prefix ".onex-tmp-", and by
	// CheckGuestPath for a relative path or one with a ".." element.
	ErrInvalidPath = errors.New("fs: invalid path")
	// ErrDenied is returned for an absolute path outside every granted
	// directory, a relative path when nothing is granted, and when the
	// operating system refuses access.
	ErrDenied = errors.New("fs: access denied")
	// ErrEscape is returned for a path that leaves its granted directory
	// through ".." or a symbolic link, and by Write, Delete and Move for a
	// symbolic link (as the last element) that leads outside it.
	ErrEscape = errors.New("fs: path escapes its granted directory")
	// ErrReadOnly is returned by Write, Delete, Move, Copy and Mkdir for a
	// path in a directory granted read-only. Nothing is logged or changed.
	ErrReadOnly = errors.New("fs: granted directory is read-only")
	// ErrNotFound is returned when the file or directory, or the parent
	// directory of a file to create, does not exist.
	ErrNotFound = errors.New("fs: no such file or directory")
	// ErrExist is returned by Mkdir without parents for a path that exists,
	// and by Move of a directory onto an existing path.
	ErrExist = errors.New("fs: file exists")
	// ErrWrongType is returned for a directory where a regular file is
	// needed or the reverse, and for a symbolic link or special file as the
	// last element of a path to change.
	ErrWrongType = errors.New("fs: wrong file type")
	// ErrNotEmpty is returned by Delete for a directory that has entries,
	// and by the Compensator when a directory it should remove is no longer
	// empty.
	ErrNotEmpty = errors.New("fs: directory not empty")
	// ErrTooLarge is returned by Read for a file above its limit, by Write
	// and Copy for data above Config.MaxWriteBytes, and by a mutation whose
	// before-image exceeds Config.MaxUndoBytes (unless AllowIrreversible).
	ErrTooLarge = errors.New("fs: too large")
	// ErrCrossRoot is returned by Move when from and to are in different
	// granted directories; Copy then Delete instead.
	ErrCrossRoot = errors.New("fs: move across granted directories")
	// ErrClosed is returned by every operation after Roots.Close.
	ErrClosed = errors.New("fs: roots closed")
)
