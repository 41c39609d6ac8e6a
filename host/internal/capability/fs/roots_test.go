package fs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/internal/capability/fs"
)

func TestNew(t *testing.T) {
	base := t.TempDir()
	mkdirs(t, base, "a/b", "c")
	writeFile(t, base, "file", "x")
	a, ab, c := filepath.Join(base, "a"), filepath.Join(base, "a", "b"), filepath.Join(base, "c")
	tests := []struct {
		name    string
		cfg     fs.Config
		wantErr error // nil: success; errAny: some error
	}{
		{name: "nothing granted", cfg: fs.Config{}},
		{name: "two disjoint", cfg: fs.Config{Grants: []fs.Grant{{Dir: a}, {Dir: c, ReadOnly: true}}}},
		{name: "unclean directory is cleaned", cfg: fs.Config{Grants: []fs.Grant{{Dir: a + "/b/.."}}}},
		{name: "empty directory", cfg: fs.Config{Grants: []fs.Grant{{Dir: ""}}}, wantErr: fs.ErrInvalidConfig},
		{name: "relative directory", cfg: fs.Config{Grants: []fs.Grant{{Dir: "a"}}}, wantErr: fs.ErrInvalidConfig},
		{name: "same directory twice", cfg: fs.Config{Grants: []fs.Grant{{Dir: a}, {Dir: a + "/", ReadOnly: true}}}, wantErr: fs.ErrInvalidConfig},
		{name: "nested", cfg: fs.Config{Grants: []fs.Grant{{Dir: a}, {Dir: ab, ReadOnly: true}}}, wantErr: fs.ErrInvalidConfig},
		{name: "nesting", cfg: fs.Config{Grants: []fs.Grant{{Dir: ab}, {Dir: a}}}, wantErr: fs.ErrInvalidConfig},
		{name: "negative limit", cfg: fs.Config{MaxReadBytes: -1}, wantErr: fs.ErrInvalidConfig},
		{name: "missing directory", cfg: fs.Config{Grants: []fs.Grant{{Dir: filepath.Join(base, "nope")}}}, wantErr: os.ErrNotExist},
		{name: "a file", cfg: fs.Config{Grants: []fs.Grant{{Dir: filepath.Join(base, "file")}}}, wantErr: errAnyError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := fs.New(tt.cfg)
			switch tt.wantErr {
			case nil:
				require.NoError(t, err)
				require.NoError(t, rs.Close())
			case errAnyError:
				require.Error(t, err)
			default:
				require.ErrorIs(t, err, tt.wantErr)
			}
		})
	}
}

// errAnyError marks a test case that expects some error.
var errAnyError = errStep

func TestRoots_Write(t *testing.T) {
	dir := t.TempDir()
	mkdirs(t, dir, "sub")
	writeFile(t, dir, "old", "old")
	require.NoError(t, os.Chmod(filepath.Join(dir, "old"), 0o600))
	rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: dir}}, MaxWriteBytes: 10})

	tests := []struct {
		name     string
		path     string
		data     string
		perm     os.FileMode
		wantErr  error
		wantPerm os.FileMode
	}{
		{name: "new file gets 0644", path: "new", data: "new", wantPerm: 0o644},
		{name: "new file with perm", path: "exec", data: "#!", perm: 0o750, wantPerm: 0o750},
		{name: "non-permission bits dropped", path: "sticky", data: "s", perm: os.ModeSetuid | 0o640, wantPerm: 0o640},
		{name: "overwrite keeps perm", path: "old", data: "newer", wantPerm: 0o600},
		{name: "empty data", path: "empty", data: "", wantPerm: 0o644},
		{name: "at the limit", path: "ten", data: "0123456789", wantPerm: 0o644},
		{name: "above the limit", path: "eleven", data: "0123456789a", wantErr: fs.ErrTooLarge},
		{name: "parent missing", path: "nodir/file", data: "x", wantErr: fs.ErrNotFound},
		{name: "parent is a file", path: "old/file", data: "x", wantErr: fs.ErrWrongType},
		{name: "onto a directory", path: "sub", data: "x", wantErr: fs.ErrWrongType},
		{name: "onto the granted directory", path: dir, data: "x", wantErr: fs.ErrWrongType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := rs.Write(nil, tt.path, []byte(tt.data), tt.perm)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Empty(t, tempFiles(t, dir))
				return
			}
			require.NoError(t, err)
			fi, err := os.Stat(filepath.Join(dir, tt.path))
			require.NoError(t, err)
			assert.Equal(t, tt.wantPerm, fi.Mode())
			got, err := rs.Read(tt.path, 0)
			require.NoError(t, err)
			assert.Equal(t, tt.data, string(got))
		})
	}
	assert.Empty(t, tempFiles(t, dir))
}

func TestRoots_Read(t *testing.T) {
	dir := t.TempDir()
	mkdirs(t, dir, "sub")
	writeFile(t, dir, "five", "12345")
	rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: dir}}, MaxReadBytes: 8})
	tests := []struct {
		name     string
		path     string
		maxBytes int64
		want     string
		wantErr  error
	}{
		{name: "whole", path: "five", want: "12345"},
		{name: "exact bound", path: "five", maxBytes: 5, want: "12345"},
		{name: "bound above config", path: "five", maxBytes: 1 << 40, want: "12345"},
		{name: "too large for bound", path: "five", maxBytes: 4, wantErr: fs.ErrTooLarge},
		{name: "missing", path: "nope", wantErr: fs.ErrNotFound},
		{name: "directory", path: "sub", wantErr: fs.ErrWrongType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rs.Read(tt.path, tt.maxBytes)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
	t.Run("config bound", func(t *testing.T) {
		writeFile(t, dir, "nine", "123456789")
		_, err := rs.Read("nine", 0)
		require.ErrorIs(t, err, fs.ErrTooLarge)
	})
}

func TestRoots_List(t *testing.T) {
	dir := t.TempDir()
	mkdirs(t, dir, "b-dir", "empty")
	writeFile(t, dir, "c", "ccc")
	writeFile(t, dir, "a", "a")
	writeFile(t, dir, ".onex-tmp-00000000000000aa", "in progress")
	require.NoError(t, os.Symlink("b-dir", filepath.Join(dir, "d-link")))
	require.NoError(t, os.Symlink("/nonexistent", filepath.Join(dir, "e-dangling")))
	rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: dir}}})

	got, err := rs.List(".")
	require.NoError(t, err)
	var names []string
	for _, e := range got {
		names = append(names, e.Name)
		assert.False(t, e.ModTime.IsZero(), e.Name)
	}
	assert.Equal(t, []string{"a", "b-dir", "c", "d-link", "e-dangling", "empty"}, names)
	assert.Equal(t, fs.Entry{Name: "c", Size: 3, ModTime: got[2].ModTime}, got[2])
	assert.True(t, got[1].IsDir)
	assert.True(t, got[3].IsDir, "symlink to a directory inside")
	assert.False(t, got[4].IsDir, "dangling symlink listed as itself")

	empty, err := rs.List("empty")
	require.NoError(t, err)
	assert.Empty(t, empty)
	_, err = rs.List("c")
	require.ErrorIs(t, err, fs.ErrWrongType)
	_, err = rs.List("nope")
	require.ErrorIs(t, err, fs.ErrNotFound)
}

func TestRoots_Delete(t *testing.T) {
	dir := t.TempDir()
	mkdirs(t, dir, "empty", "full")
	writeFile(t, dir, "file", "x")
	writeFile(t, dir, "full/x", "x")
	require.NoError(t, os.Symlink("file", filepath.Join(dir, "link")))
	rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: dir}}})
	tests := []struct {
		name    string
		path    string
		wantErr error
	}{
		{name: "file", path: "file"},
		{name: "empty directory", path: "empty"},
		{name: "full directory", path: "full", wantErr: fs.ErrNotEmpty},
		{name: "symlink", path: "link", wantErr: fs.ErrWrongType},
		{name: "missing", path: "nope", wantErr: fs.ErrNotFound},
		{name: "granted directory", path: dir, wantErr: fs.ErrInvalidPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := rs.Delete(nil, tt.path)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.NoFileExists(t, filepath.Join(dir, tt.path))
			assert.NoDirExists(t, filepath.Join(dir, tt.path))
		})
	}
}

func TestRoots_Move(t *testing.T) {
	base := t.TempDir()
	mkdirs(t, base, "a/dir", "a/target-dir", "b")
	writeFile(t, base, "a/one", "one")
	writeFile(t, base, "a/two", "two")
	writeFile(t, base, "a/dir/in", "in")
	a, b := filepath.Join(base, "a"), filepath.Join(base, "b")
	require.NoError(t, os.Link(filepath.Join(a, "two"), filepath.Join(a, "two-again")))
	rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: a}, {Dir: b}}})

	require.NoError(t, rs.Move(nil, "one", "uno"))
	assert.NoFileExists(t, filepath.Join(a, "one"))
	require.NoError(t, rs.Move(nil, "uno", "two"), "a file replaces a file")
	got, err := rs.Read("two", 0)
	require.NoError(t, err)
	assert.Equal(t, "one", string(got))
	require.NoError(t, rs.Move(nil, "dir", "dir2"))
	assert.FileExists(t, filepath.Join(a, "dir2", "in"))

	tests := []struct {
		name     string
		from, to string
		wantErr  error
	}{
		{name: "across roots", from: "two", to: b + "/two", wantErr: fs.ErrCrossRoot},
		{name: "missing", from: "nope", to: "x", wantErr: fs.ErrNotFound},
		{name: "to a missing directory", from: "two", to: "nodir/x", wantErr: fs.ErrNotFound},
		{name: "directory onto something", from: "dir2", to: "two", wantErr: fs.ErrExist},
		{name: "file onto directory", from: "two", to: "target-dir", wantErr: fs.ErrWrongType},
		{name: "the granted directory", from: a, to: "x", wantErr: fs.ErrInvalidPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, rs.Move(nil, tt.from, tt.to), tt.wantErr)
		})
	}
	t.Run("onto itself does nothing", func(t *testing.T) {
		rec := &recorder{}
		tr := begin(t, newManager(t, rec))
		require.NoError(t, rs.Move(tr, "two", "two"))
		require.NoError(t, rs.Move(tr, "two-again", "two-again"))
		assert.Empty(t, rec.recorded())
	})
}

func TestRoots_Copy(t *testing.T) {
	base := t.TempDir()
	mkdirs(t, base, "ro", "rw")
	writeFile(t, base, "ro/src", "source")
	require.NoError(t, os.Chmod(filepath.Join(base, "ro", "src"), 0o640))
	writeFile(t, base, "ro/big", strings.Repeat("x", 11))
	ro, rw := filepath.Join(base, "ro"), filepath.Join(base, "rw")
	rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: rw}, {Dir: ro, ReadOnly: true}}, MaxWriteBytes: 10})

	require.NoError(t, rs.Copy(nil, ro+"/src", "dst"))
	got, err := rs.Read("dst", 0)
	require.NoError(t, err)
	assert.Equal(t, "source", string(got))
	fi, err := os.Stat(filepath.Join(rw, "dst"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode(), "permission bits copied")

	require.ErrorIs(t, rs.Copy(nil, ro+"/big", "big"), fs.ErrTooLarge)
	require.ErrorIs(t, rs.Copy(nil, ro+"/nope", "x"), fs.ErrNotFound)
	require.ErrorIs(t, rs.Copy(nil, ro, "x"), fs.ErrWrongType)
	assert.NoFileExists(t, filepath.Join(rw, "big"))
}

func TestRoots_Mkdir(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "file", "x")
	rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: dir}}})
	tests := []struct {
		name    string
		path    string
		parents bool
		wantErr error
	}{
		{name: "one", path: "one"},
		{name: "exists", path: "one", wantErr: fs.ErrExist},
		{name: "exists with parents", path: "one", parents: true},
		{name: "missing parent", path: "x/y", wantErr: fs.ErrNotFound},
		{name: "parents", path: "x/y/z", parents: true},
		{name: "parent is a file", path: "file/y", parents: true, wantErr: fs.ErrWrongType},
		{name: "parent is a file, no parents", path: "file/y", wantErr: fs.ErrWrongType},
		{name: "granted directory", path: ".", parents: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := rs.Mkdir(nil, tt.path, tt.parents)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.DirExists(t, filepath.Join(dir, tt.path))
		})
	}
}

func TestRoots_Close(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "f", "x")
	rs, err := fs.New(fs.Config{Grants: []fs.Grant{{Dir: dir}}})
	require.NoError(t, err)
	require.NoError(t, rs.Close())
	require.NoError(t, rs.Close(), "second Close")
	_, err = rs.Read("f", 0)
	require.ErrorIs(t, err, fs.ErrClosed)
	require.ErrorIs(t, rs.Write(nil, "f", nil, 0), fs.ErrClosed)
}

func TestRoots_RootOf(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: a}, {Dir: b, ReadOnly: true}}})
	assert.Equal(t, a, rs.RootOf(filepath.Join(a, "x", "y.txt")))
	assert.Equal(t, b, rs.RootOf(filepath.Join(b, "z")))
	assert.Equal(t, b, rs.RootOf(b))
	assert.Equal(t, a, rs.RootOf("relative/to/the/first"), "relative paths resolve in the first grant")
	assert.Equal(t, a, rs.RootOf("/elsewhere/entirely"), "outside every grant: the first (the call fails anyway)")
	assert.Equal(t, "", newRoots(t, fs.Config{}).RootOf("/x"))
}
