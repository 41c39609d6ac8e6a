package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/host/server/config"
)

// watchQuiet is how long a plugin file must stay still (no event, the same size and
// modification time) before serve --watch loads it. A compiler or linker writes its
// output in several steps (go build removes the old file, creates the new one and writes
// it; wasm-ld may write through a memory map, which raises no event at all), and a load
// of a half-written file is refused. A quarter of a second is longer than the gaps
// between those steps and short next to a build.
const watchQuiet = 250 * time.Millisecond

// watcher is serve --watch: it reloads a node whose file changed, as SIGHUP does (the
// new version loaded and warmed first, requests in flight finishing on the old one), and
// adds a node for a new *.wasm file in a directory a config entry serves. A file that
// fails to load is refused with a log line and the old version keeps serving. It is not
// safe for concurrent use: run owns it.
type watcher struct {
	srv *server.Server
	// nodes returns the config's nodes now: a dir entry lists its directory again, so a
	// new file in it is found with that entry's settings (config.File.Nodes).
	nodes func() ([]config.Node, error)
	log   *slog.Logger
	// base is the API's URL, for the line that announces a new node.
	base  string
	quiet time.Duration

	// What run waits for: each path's last stamp and when it settles.
	stamps map[string]fileStamp
	due    map[string]time.Time
}

// fileStamp is what a write changes: a file's size and modification time (zero when the
// file is missing).
type fileStamp struct {
	size    int64
	modTime time.Time
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{size: fi.Size(), modTime: fi.ModTime()}
}

// startWatch starts watching the directories of the files srv serves and of the
// config's nodes, and returns the function that stops it and waits for it to return
// (safe to call more than once). A file that is not on the local file system (an oci://
// node) is not watched.
func startWatch(ctx context.Context, srv *server.Server, nodes func() ([]config.Node, error), log *slog.Logger, base string) (stop func(), err error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	paths := make([]string, 0)
	for _, n := range srv.Loaded() {
		paths = append(paths, n.Path)
	}
	if ns, err := nodes(); err == nil {
		for _, n := range ns {
			paths = append(paths, n.Path, n.FSM)
		}
	}
	var dirs []string
	for _, p := range paths {
		if fi, err := os.Stat(p); p == "" || err != nil || !fi.Mode().IsRegular() {
			continue
		}
		dir := filepath.Dir(absPath(p))
		if slices.Contains(dirs, dir) {
			continue
		}
		if err := fw.Add(dir); err != nil {
			_ = fw.Close()
			return nil, fmt.Errorf("watch %s: %w", dir, err)
		}
		dirs = append(dirs, dir)
	}
	slices.Sort(dirs)
	log.Info("watching plugin files for changes", "dirs", dirs)
	w := &watcher{srv: srv, nodes: nodes, log: log, base: base, quiet: watchQuiet}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.run(ctx, fw.Events, fw.Errors, w.apply)
	}()
	return func() {
		cancel()
		<-done
		_ = fw.Close()
	}, nil
}

// absPath is path made absolute and clean (path itself if that fails).
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}

// run handles events until ctx ends or events is closed. Each event (re)starts its
// file's quiet period; when the period ends with the file's stamp unchanged since the
// last event, run calls apply with the file's path (w.apply, or a test's), else the
// period starts again. apply runs on run's goroutine, one file at a time, in path order
// for the files that settle together.
func (w *watcher) run(ctx context.Context, events <-chan fsnotify.Event, errs <-chan error, apply func(context.Context, string)) {
	w.stamps, w.due = map[string]fileStamp{}, map[string]time.Time{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// Lost events (the kernel's queue overflowed): a later write is still seen.
			w.log.Warn("watch: events lost", "error", err)
			continue
		case ev, ok := <-events:
			if !ok {
				return
			}
			path := filepath.Clean(ev.Name)
			if !w.relevant(path) {
				continue
			}
			w.stamps[path] = stampOf(path)
			w.due[path] = time.Now().Add(w.quiet)
		case <-timer.C:
			now := time.Now()
			var settled []string
			for path, at := range w.due {
				if now.Before(at) {
					continue
				}
				if s := stampOf(path); s != w.stamps[path] {
					// Written without an event (a memory map) since: wait again.
					w.stamps[path], w.due[path] = s, now.Add(w.quiet)
					continue
				}
				delete(w.due, path)
				delete(w.stamps, path)
				settled = append(settled, path)
			}
			slices.Sort(settled)
			for _, path := range settled {
				if ctx.Err() != nil {
					return
				}
				apply(ctx, path)
			}
		}
		if len(w.due) > 0 {
			next := slices.MinFunc(mapValues(w.due), time.Time.Compare)
			timer.Reset(time.Until(next))
		}
	}
}

// mapValues returns m's values, in no order.
func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// relevant reports whether an event on path may concern a node: a file a node was loaded
// from, or a *.wasm file (a new plugin in a watched directory).
func (w *watcher) relevant(path string) bool {
	if strings.HasSuffix(path, ".wasm") {
		return true
	}
	for _, n := range w.srv.Loaded() {
		if absPath(n.Path) == path {
			return true
		}
	}
	return false
}

// apply reloads the nodes loaded from path, if its content changed, or adds the node
// that the config's entries now list at path. Every outcome is one log line; nothing is
// returned, since the server keeps serving whatever happens.
func (w *watcher) apply(ctx context.Context, path string) {
	var loaded []server.LoadedNode
	for _, n := range w.srv.Loaded() {
		if absPath(n.Path) == path {
			loaded = append(loaded, n)
		}
	}
	if len(loaded) == 0 {
		w.add(ctx, path)
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			w.log.Warn("watch: plugin file removed; its node keeps serving the loaded version", "path", path)
		} else {
			w.log.Error("watch: plugin file unreadable; its node keeps serving the loaded version", "path", path, "error", err)
		}
		return
	}
	sum := sha256.Sum256(b)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	for _, n := range loaded {
		if n.Digest == digest {
			w.log.Debug("watch: plugin file unchanged", "node", n.Name, "path", path)
			continue
		}
		// An FSM contract's digest is its name and version: it is reloaded on every
		// change of its file.
		got, err := w.srv.Reload(ctx, n.Name)
		if err != nil {
			w.log.Error("watch: changed plugin file refused; the old version keeps serving", "node", n.Name, "path", path,
				"digest", n.Digest, "error", err)
			continue
		}
		w.log.Info("watch: node reloaded from its changed file", "node", n.Name, "path", path, "change", n.Digest+" → "+got)
	}
}

// add loads the node the config's entries list at path (a new file in a directory a dir
// entry serves), if any.
func (w *watcher) add(ctx context.Context, path string) {
	if _, err := os.Stat(path); err != nil {
		return // created and gone again, or another file in the directory
	}
	nodes, err := w.nodes()
	if err != nil {
		w.log.Error("watch: listing the configured nodes", "path", path, "error", err)
		return
	}
	for _, n := range nodes {
		if n.Path == "" || absPath(n.Path) != path {
			continue
		}
		l, err := w.srv.Add(ctx, nodeSpec(n))
		if err != nil {
			w.log.Error("watch: new plugin file refused", "path", path, "error", err)
			return
		}
		w.log.Info("watch: new node loaded", "node", l.Name, "path", path, "digest", l.Digest, "url", nodeURL(w.base, l))
		return
	}
}

// nodeSpec is how serve loads a config node. Keep it in step with serve's loop over
// f.Nodes().
func nodeSpec(n config.Node) server.NodeSpec {
	return server.NodeSpec{Path: n.Path, Plugin: n.PluginConfig, Effect: n.Effect, Name: n.Name, Resolve: n.Resolve, FSM: n.FSM}
}
