// Package compcache keeps wazero's on-disk compilation cache within a size limit,
// evicting what was used least recently.
//
// wazero writes one file per compiled module under <dir>/wazero-<version>-<arch>-<os>/,
// named by a hash of the module, the wazero version and the CPU's features, and never
// removes one: every rebuild of a plugin adds a file (≈ 18 MB for a standard-Go plugin),
// and a wazero upgrade leaves the old version's directory behind. Nor does it tell when it
// reads a file, so "last use" is kept here: Track runs each compilation; the files a
// compilation adds are recorded in an index under <dir>/onex-index/, named after the
// caller's key (the module's digest and how it was compiled), and every later Track of
// that key — a cache hit — sets those files' modification times to now. Prune deletes the
// files with the oldest modification times until the total fits the limit. Any other file
// a compilation writes under the root — the host's instrumented modules, under
// onex-metered-v<N>/ — is recorded, counted and evicted the same way.
//
// Several processes may share a directory. The index is advisory: when two compilations
// run at once each may record the other's file too, which only keeps a file longer; a
// file deleted while another process reads it stays readable by that reader (POSIX), and
// one deleted before it is opened is a cache miss, which compiles again.
package compcache

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBytes is the default size limit of a compilation cache: 512 MiB, room for
// about 25 compiled standard-Go plugins (≈ 18 MB each, more when metered and unmetered
// builds of the same plugin are both used) and thousands of small ones.
const DefaultMaxBytes int64 = 512 << 20

// indexDir is the directory under the cache root that holds the index.
const indexDir = "onex-index"

// Dir is one compilation cache directory with a size limit. Create it with Open. It is
// safe for concurrent use by multiple goroutines.
type Dir struct {
	root string
	max  int64
	now  func() time.Time

	pruning sync.Mutex // one Prune at a time
}

// Open returns the cache at root (created if missing), kept within maxBytes by Prune
// (0: DefaultMaxBytes; negative: no limit). It returns an error if root cannot be
// created.
func Open(root string, maxBytes int64) (*Dir, error) {
	if maxBytes == 0 {
		maxBytes = DefaultMaxBytes
	}
	if err := os.MkdirAll(filepath.Join(root, indexDir), 0o755); err != nil {
		return nil, fmt.Errorf("compilation cache %s: %w", root, err)
	}
	return &Dir{root: root, max: maxBytes, now: time.Now}, nil
}

// Root returns the cache directory.
func (d *Dir) Root() string { return d.root }

// MaxBytes returns the size limit (negative: none).
func (d *Dir) MaxBytes() int64 { return d.max }

// Track runs compile, which reads or writes the cache, as a use of the compiled code named
// key (any string; the module's digest and how it is compiled). When key's files are
// known, they are marked used now; the files compile adds (a miss) are recorded as key's.
// It reports whether files were added (a compilation that missed the cache), after which
// the caller may Prune. Index failures are not errors: the cache still works without them.
// Compilations may run at once (through one Dir or several processes): then each may
// record the other's files as its own too, which only keeps them longer.
func (d *Dir) Track(key string, compile func() error) (added bool, err error) {
	index := d.indexPath(key)
	known, _ := d.readIndex(index)
	d.touch(known)
	before := d.files()
	if err := compile(); err != nil {
		return false, err
	}
	var fresh []string
	for name := range d.files() {
		if _, ok := before[name]; !ok {
			fresh = append(fresh, name)
		}
	}
	if len(fresh) > 0 {
		all := slices.Compact(slices.Sorted(slices.Values(append(known, fresh...))))
		_ = os.WriteFile(index, []byte(strings.Join(all, "\n")+"\n"), 0o644)
	}
	return len(fresh) > 0, nil
}

// indexPath is the index file of key: its SHA-256, so any key makes a valid file name.
func (d *Dir) indexPath(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(d.root, indexDir, hex.EncodeToString(sum[:]))
}

// readIndex returns the files recorded in index that still exist; when none does, it
// removes the index (the key's module was evicted: its next compilation records it again).
// Files another key's compilation wrote at the same time may be listed too (see Track);
// one of them being evicted does not drop the rest.
func (d *Dir) readIndex(index string) ([]string, bool) {
	b, err := os.ReadFile(index)
	if err != nil {
		return nil, false
	}
	var names []string
	for _, name := range strings.Fields(string(b)) {
		if _, err := os.Stat(filepath.Join(d.root, name)); err == nil {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		_ = os.Remove(index)
		return nil, false
	}
	return names, true
}

// touch marks files used now.
func (d *Dir) touch(names []string) {
	now := d.now()
	for _, name := range names {
		_ = os.Chtimes(filepath.Join(d.root, name), now, now)
	}
}

// File is one compiled module in the cache.
type File struct {
	Name    string    // path relative to the cache root, e.g. wazero-v1.12.0-amd64-linux/<hash>
	Size    int64     // bytes
	LastUse time.Time // when it was last compiled or used through Track
}

// files lists the cache's compiled modules (every regular file outside the index).
func (d *Dir) files() map[string]File {
	out := map[string]File{}
	_ = filepath.WalkDir(d.root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished or unreadable: skip it
		}
		if e.IsDir() {
			if path != d.root && e.Name() == indexDir {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(d.root, path)
		if err != nil {
			return nil
		}
		out[rel] = File{Name: rel, Size: info.Size(), LastUse: info.ModTime()}
		return nil
	})
	return out
}

// Files lists the cache's compiled modules, most recently used first.
func (d *Dir) Files() []File {
	fs := slices.Collect(maps.Values(d.files()))
	slices.SortFunc(fs, func(a, b File) int {
		return cmp.Or(b.LastUse.Compare(a.LastUse), cmp.Compare(a.Name, b.Name))
	})
	return fs
}

// Size returns the cache's total size in bytes.
func (d *Dir) Size() int64 {
	var n int64
	for _, f := range d.files() {
		n += f.Size
	}
	return n
}

// Pruned says what Prune removed.
type Pruned struct {
	Files int   // compiled modules deleted
	Bytes int64 // their total size
	Left  int64 // bytes still in the cache
}

// Prune deletes the least recently used compiled modules until the cache holds at most
// maxBytes (negative: d's limit; a Dir without a limit keeps everything). It returns what
// it removed; the error joins the deletions that failed.
func (d *Dir) Prune(maxBytes int64) (Pruned, error) {
	if maxBytes < 0 {
		maxBytes = d.max
	}
	d.pruning.Lock()
	defer d.pruning.Unlock()
	files := d.Files()
	var p Pruned
	for _, f := range files {
		p.Left += f.Size
	}
	if maxBytes < 0 {
		return p, nil
	}
	var errs []error
	for i := len(files) - 1; i >= 0 && p.Left > maxBytes; i-- {
		f := files[i]
		if err := os.Remove(filepath.Join(d.root, f.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		p.Files++
		p.Bytes += f.Size
		p.Left -= f.Size
	}
	d.removeEmptyDirs()
	return p, errors.Join(errs...)
}

// Clear deletes every compiled module and the index.
func (d *Dir) Clear() (Pruned, error) {
	p, err := d.Prune(0)
	if err != nil {
		return p, err
	}
	entries, _ := os.ReadDir(filepath.Join(d.root, indexDir))
	for _, e := range entries {
		_ = os.Remove(filepath.Join(d.root, indexDir, e.Name()))
	}
	return p, nil
}

// removeEmptyDirs removes version directories that pruning emptied (an old wazero's).
func (d *Dir) removeEmptyDirs() {
	entries, err := os.ReadDir(d.root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != indexDir {
			_ = os.Remove(filepath.Join(d.root, e.Name())) // fails unless empty
		}
	}
}
