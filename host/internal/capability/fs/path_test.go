package fs_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/internal/capability/fs"
)

// escapeTree makes base/data (to be granted) and base/outside (not
// granted), with symlinks from data to outside and one inside data.
func escapeTree(t *testing.T) (data, outside string) {
	t.Helper()
	base := t.TempDir()
	data, outside = filepath.Join(base, "data"), filepath.Join(base, "outside")
	mkdirs(t, base, "data/a/b", "outside", "data2")
	writeFile(t, base, "outside/secret", "secret")
	writeFile(t, base, "data2/x", "sibling")
	writeFile(t, data, "inner.txt", "inner")
	require.NoError(t, os.Symlink("../outside/secret", filepath.Join(data, "link-file")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(data, "link-abs")))
	require.NoError(t, os.Symlink("../outside", filepath.Join(data, "link-dir")))
	require.NoError(t, os.Symlink("a/../inner.txt", filepath.Join(data, "link-in")))
	return data, outside
}

func TestRoots_escape(t *testing.T) {
	data, outside := escapeTree(t)
	rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: data}}})
	before := snapshot(t, filepath.Dir(data))

	tests := []struct {
		name     string
		path     string
		readErr  error // from Read
		writeErr error // from Write
	}{
		{name: "dot-dot", path: "../outside/secret", readErr: fs.ErrEscape, writeErr: fs.ErrEscape},
		{name: "dot-dot after a directory", path: "a/../../outside/secret", readErr: fs.ErrEscape, writeErr: fs.ErrEscape},
		{name: "absolute dot-dot", path: data + "/../outside/secret", readErr: fs.ErrEscape, writeErr: fs.ErrEscape},
		{name: "absolute outside", path: filepath.Join(outside, "secret"), readErr: fs.ErrDenied, writeErr: fs.ErrDenied},
		{name: "sibling sharing a prefix", path: data + "2/x", readErr: fs.ErrDenied, writeErr: fs.ErrDenied},
		{name: "file system root", path: "/", readErr: fs.ErrDenied, writeErr: fs.ErrDenied},
		// Write never follows a symlink as the last element; one leading outside is an
		// escape (denied to a guest), as through any other path.
		{name: "symlink file pointing outside", path: "link-file", readErr: fs.ErrEscape, writeErr: fs.ErrEscape},
		{name: "absolute symlink", path: "link-abs", readErr: fs.ErrEscape, writeErr: fs.ErrEscape},
		{name: "symlinked directory pointing outside", path: "link-dir/secret", readErr: fs.ErrEscape, writeErr: fs.ErrEscape},
		{name: "NUL byte", path: "inner.txt\x00.png", readErr: fs.ErrInvalidPath, writeErr: fs.ErrInvalidPath},
		{name: "empty", path: "", readErr: fs.ErrInvalidPath, writeErr: fs.ErrInvalidPath},
		{name: "reserved temporary name", path: "a/.onex-tmp-0123456789abcdef", readErr: fs.ErrInvalidPath, writeErr: fs.ErrInvalidPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := rs.Read(tt.path, 0)
			require.ErrorIs(t, err, tt.readErr)
			assert.Nil(t, b)
			require.ErrorIs(t, rs.Write(nil, tt.path, []byte("pwned"), 0o644), tt.writeErr)
			assert.Equal(t, before, snapshot(t, filepath.Dir(data)), "nothing changed, inside or outside")
		})
	}

	t.Run("list symlinked directory", func(t *testing.T) {
		_, err := rs.List("link-dir")
		require.ErrorIs(t, err, fs.ErrEscape)
	})
	t.Run("mkdir through symlinked directory", func(t *testing.T) {
		require.ErrorIs(t, rs.Mkdir(nil, "link-dir/new", false), fs.ErrEscape)
		require.ErrorIs(t, rs.Mkdir(nil, "link-dir/new/deeper", true), fs.ErrEscape)
		assert.NoDirExists(t, filepath.Join(outside, "new"))
	})
	t.Run("copy from outside", func(t *testing.T) {
		require.ErrorIs(t, rs.Copy(nil, "link-file", "stolen"), fs.ErrEscape)
		assert.NoFileExists(t, filepath.Join(data, "stolen"))
	})
	t.Run("move to outside", func(t *testing.T) {
		require.ErrorIs(t, rs.Move(nil, "inner.txt", "link-dir/moved"), fs.ErrEscape)
		assert.FileExists(t, filepath.Join(data, "inner.txt"))
	})
	t.Run("delete through symlinked directory", func(t *testing.T) {
		require.ErrorIs(t, rs.Delete(nil, "link-dir/secret"), fs.ErrEscape)
		assert.FileExists(t, filepath.Join(outside, "secret"))
	})
}

// TestRoots_symlinkOut: write, delete and move of a symbolic link leading out of
// the grant are escapes (abi/SPEC.md section 8: denied), and change nothing; a
// symbolic link inside the grant is still refused as the wrong file type.
func TestRoots_symlinkOut(t *testing.T) {
	data, outside := escapeTree(t)
	require.NoError(t, os.Symlink(filepath.Join(outside, "missing"), filepath.Join(data, "link-dangling")))
	rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: data}}})
	before := snapshot(t, filepath.Dir(data))
	ops := []struct {
		name string
		do   func(link string) error
	}{
		{name: "write", do: func(link string) error { return rs.Write(nil, link, []byte("pwned"), 0) }},
		{name: "delete", do: func(link string) error { return rs.Delete(nil, link) }},
		{name: "move from", do: func(link string) error { return rs.Move(nil, link, data+"/moved") }},
		{name: "move onto", do: func(link string) error { return rs.Move(nil, data+"/inner.txt", link) }},
	}
	links := []struct {
		name string
		link string
		want error
	}{
		{name: "relative target outside", link: data + "/link-file", want: fs.ErrEscape},
		{name: "absolute target outside", link: data + "/link-abs", want: fs.ErrEscape},
		{name: "dangling target outside", link: data + "/link-dangling", want: fs.ErrEscape},
		{name: "target inside", link: data + "/link-in", want: fs.ErrWrongType},
	}
	for _, op := range ops {
		for _, l := range links {
			t.Run(op.name+"/"+l.name, func(t *testing.T) {
				err := op.do(l.link)
				require.ErrorIs(t, err, l.want)
				if l.want == fs.ErrEscape {
					assert.NotErrorIs(t, err, fs.ErrWrongType)
				}
				assert.Equal(t, before, snapshot(t, filepath.Dir(data)), "nothing changed, inside or outside")
			})
		}
	}
}

// TestCheckGuestPath: a guest names paths absolutely and without ".." (abi/SPEC.md
// section 8), even when the path would stay inside its grant.
func TestCheckGuestPath(t *testing.T) {
	tests := []struct {
		name string
		path string
		ok   bool
	}{
		{name: "absolute", path: "/srv/data/in.json", ok: true},
		{name: "the grant itself", path: "/srv/data", ok: true},
		{name: "dot and empty elements", path: "/srv//data/./in.json", ok: true},
		{name: "dots in a name", path: "/srv/data/..in/a..b", ok: true},
		{name: "relative", path: "in.json"},
		{name: "relative with dot", path: "./in.json"},
		{name: "empty", path: ""},
		{name: "dot-dot staying inside", path: "/srv/data/a/../in.json"},
		{name: "trailing dot-dot", path: "/srv/data/a/.."},
		{name: "relative dot-dot", path: "../in.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := fs.CheckGuestPath(tt.path)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, fs.ErrInvalidPath)
		})
	}
}

func TestRoots_inside(t *testing.T) {
	data, _ := escapeTree(t)
	rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: data}}})
	tests := []struct {
		name string
		path string
	}{
		{name: "relative", path: "inner.txt"},
		{name: "absolute", path: filepath.Join(data, "inner.txt")},
		{name: "absolute with dot, empty and dot-dot elements", path: data + "//a/./b/../../inner.txt"},
		{name: "relative dot-dot staying inside", path: "a/b/../../inner.txt"},
		{name: "symlink inside", path: "link-in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := rs.Read(tt.path, 0)
			require.NoError(t, err)
			assert.Equal(t, "inner", string(b))
		})
	}
	t.Run("write and read back through dot-dot", func(t *testing.T) {
		require.NoError(t, rs.Write(nil, "a/b/../new.txt", []byte("new"), 0))
		b, err := os.ReadFile(filepath.Join(data, "a", "new.txt"))
		require.NoError(t, err)
		assert.Equal(t, "new", string(b))
	})
	t.Run("the granted directory itself", func(t *testing.T) {
		for _, p := range []string{data, data + "/", "."} {
			_, err := rs.List(p)
			require.NoError(t, err, p)
		}
	})
}

func TestRoots_readOnly(t *testing.T) {
	base := t.TempDir()
	mkdirs(t, base, "rw", "ro/sub")
	writeFile(t, base, "rw/src", "source")
	writeFile(t, base, "ro/file", "keep")
	rw, ro := filepath.Join(base, "rw"), filepath.Join(base, "ro")
	rs := newRoots(t, fs.Config{Grants: []fs.Grant{{Dir: rw}, {Dir: ro, ReadOnly: true}}})
	rec := &recorder{}
	m := newManager(t, rec)
	before := snapshot(t, base)

	tests := []struct {
		name string
		do   func(*fs.Roots) error
	}{
		{name: "write new", do: func(rs *fs.Roots) error { return rs.Write(begin(t, m), ro+"/new", []byte("x"), 0) }},
		{name: "write existing", do: func(rs *fs.Roots) error { return rs.Write(begin(t, m), ro+"/file", []byte("x"), 0) }},
		{name: "delete", do: func(rs *fs.Roots) error { return rs.Delete(begin(t, m), ro+"/file") }},
		{name: "delete directory", do: func(rs *fs.Roots) error { return rs.Delete(begin(t, m), ro+"/sub") }},
		{name: "move inside", do: func(rs *fs.Roots) error { return rs.Move(begin(t, m), ro+"/file", ro+"/moved") }},
		{name: "move out", do: func(rs *fs.Roots) error { return rs.Move(begin(t, m), ro+"/file", rw+"/moved") }},
		{name: "move in", do: func(rs *fs.Roots) error { return rs.Move(begin(t, m), rw+"/src", ro+"/moved") }},
		{name: "copy in", do: func(rs *fs.Roots) error { return rs.Copy(begin(t, m), rw+"/src", ro+"/copy") }},
		{name: "mkdir", do: func(rs *fs.Roots) error { return rs.Mkdir(begin(t, m), ro+"/dir", false) }},
		{name: "mkdir parents", do: func(rs *fs.Roots) error { return rs.Mkdir(begin(t, m), ro+"/dir/deeper", true) }},
		{name: "write without transaction", do: func(rs *fs.Roots) error { return rs.Write(nil, ro+"/file", []byte("x"), 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, tt.do(rs), fs.ErrReadOnly)
			assert.Equal(t, before, snapshot(t, base))
			assert.Empty(t, rec.recorded(), "nothing logged")
		})
	}
	t.Run("read and copy out work", func(t *testing.T) {
		b, err := rs.Read(ro+"/file", 0)
		require.NoError(t, err)
		assert.Equal(t, "keep", string(b))
		require.NoError(t, rs.Copy(nil, ro+"/file", rw+"/copied"))
		_, err = rs.List(ro)
		require.NoError(t, err)
	})
}
