package capcall

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"

	"github.com/onexhost/onex-host/abi"
	fscap "github.com/onexhost/onex-host/host/internal/capability/fs"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// fs runs one fs op on the plugin's granted directories, behind the breaker of the
// directory it touches, recording mutations in the attempt's transaction.
func (a *Attempt) fs(ctx context.Context, op string, req []byte) (abi.Status, []byte) {
	roots := a.Plugin.FS
	if roots == nil {
		return failure(abi.StatusDenied, "%s: no directory is granted", op)
	}
	var resp any = abi.Empty{}
	var path string
	var paths []string // every path the request names, checked before it runs
	var run func() error
	switch op {
	case abi.OpFSRead:
		var r abi.FSReadRequest
		if err := json.Unmarshal(req, &r); err != nil {
			return failure(abi.StatusInvalidInput, "%s: %v", op, err)
		}
		path, paths = r.Path, []string{r.Path}
		run = func() error {
			data, err := roots.Read(r.Path, r.MaxBytes)
			resp = abi.FSReadResponse{Data: data}
			return err
		}
	case abi.OpFSWrite:
		var r abi.FSWriteRequest
		if err := json.Unmarshal(req, &r); err != nil {
			return failure(abi.StatusInvalidInput, "%s: %v", op, err)
		}
		mode := fs.FileMode(r.Mode).Perm()
		if mode == 0 {
			mode = 0o644
		}
		path, paths = r.Path, []string{r.Path}
		run = func() error { return roots.Write(a.Tx, r.Path, r.Data, mode) }
	case abi.OpFSDelete:
		var r abi.FSPathRequest
		if err := json.Unmarshal(req, &r); err != nil {
			return failure(abi.StatusInvalidInput, "%s: %v", op, err)
		}
		path, paths = r.Path, []string{r.Path}
		run = func() error {
			err := roots.Delete(a.Tx, r.Path)
			resp = abi.FSDeleteResponse{Existed: err == nil}
			if errors.Is(err, fscap.ErrNotFound) {
				return nil
			}
			return err
		}
	case abi.OpFSMove, abi.OpFSCopy:
		var r abi.FSMoveRequest
		if err := json.Unmarshal(req, &r); err != nil {
			return failure(abi.StatusInvalidInput, "%s: %v", op, err)
		}
		path, paths = r.From, []string{r.From, r.To}
		run = func() error {
			if op == abi.OpFSMove {
				return roots.Move(a.Tx, r.From, r.To)
			}
			return roots.Copy(a.Tx, r.From, r.To)
		}
	case abi.OpFSList:
		var r abi.FSPathRequest
		if err := json.Unmarshal(req, &r); err != nil {
			return failure(abi.StatusInvalidInput, "%s: %v", op, err)
		}
		path, paths = r.Path, []string{r.Path}
		run = func() error {
			entries, err := roots.List(r.Path)
			list := abi.FSListResponse{Entries: make([]abi.FSEntry, len(entries))}
			for i, e := range entries {
				list.Entries[i] = abi.FSEntry{Name: e.Name, Size: e.Size, Dir: e.IsDir, ModTime: e.ModTime}
			}
			resp = list
			return err
		}
	case abi.OpFSMkdir:
		var r abi.FSMkdirRequest
		if err := json.Unmarshal(req, &r); err != nil {
			return failure(abi.StatusInvalidInput, "%s: %v", op, err)
		}
		path, paths = r.Path, []string{r.Path}
		run = func() error { return roots.Mkdir(a.Tx, r.Path, r.Parents) }
	}
	// A guest names paths absolutely and without ".." (abi/SPEC.md section 8), even when
	// the path would stay in its grant: one spelling per file, as the operator granted it.
	for _, p := range paths {
		if err := fscap.CheckGuestPath(p); err != nil {
			return fsStatus(op, err)
		}
	}
	if err := a.guard(ctx, "fs:"+roots.RootOf(path), run, fsFailure); err != nil {
		return fsStatus(op, err)
	}
	return response(resp)
}

// fsFailure reports whether an fs error says the directory is failing (an I/O error),
// rather than that the request was wrong.
func fsFailure(err error) bool {
	for _, e := range []error{fscap.ErrInvalidPath, fscap.ErrDenied, fscap.ErrEscape, fscap.ErrReadOnly,
		fscap.ErrNotFound, fscap.ErrExist, fscap.ErrWrongType, fscap.ErrNotEmpty, fscap.ErrTooLarge,
		fscap.ErrCrossRoot, tx.ErrRolledBack, tx.ErrCommitted} {
		if errors.Is(err, e) {
			return false
		}
	}
	return true
}

// fsStatus maps an fs error onto the ABI.
func fsStatus(op string, err error) (abi.Status, []byte) {
	switch {
	case errors.Is(err, errBreakerOpen):
		return breakerStatus(op, err)
	case errors.Is(err, fscap.ErrInvalidPath):
		return failure(abi.StatusInvalidInput, "%s: %v", op, err)
	case errors.Is(err, fscap.ErrDenied), errors.Is(err, fscap.ErrEscape), errors.Is(err, fscap.ErrReadOnly),
		errors.Is(err, fscap.ErrCrossRoot):
		return failure(abi.StatusDenied, "%s: %v", op, err)
	case errors.Is(err, fscap.ErrNotFound):
		return failure(abi.StatusNotFound, "%s: %v", op, err)
	case errors.Is(err, fscap.ErrTooLarge):
		return failure(abi.StatusTooLarge, "%s: %v", op, err)
	case errors.Is(err, fscap.ErrExist), errors.Is(err, fscap.ErrWrongType), errors.Is(err, fscap.ErrNotEmpty):
		return failure(abi.StatusError, "%s: %v", op, err)
	case errors.Is(err, tx.ErrRolledBack), errors.Is(err, tx.ErrCommitted):
		return txFailure(op, err)
	default:
		return failure(abi.StatusUnavailable, "%s: %v", op, err)
	}
}
