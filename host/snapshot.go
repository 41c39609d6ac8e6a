package host

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/onexhost/onex-host/host/internal/native"
	"github.com/onexhost/onex-host/host/internal/snapshot"
)

// Snapshots (PluginConfig.Snapshot) come two ways:
//
//   - At load, before the first instance, for IsolationFresh (every call creates an
//     instance) and SnapshotOn: the load pays the two extra compilations (the probe's and
//     the snapshot's; hits in the compilation cache after the first load of the module).
//   - In the background, for a pooled plugin with SnapshotAuto that declares no config
//     keys (the snapshot's initialization cannot see config values): the pool's second
//     instance creation (a prewarm past one, a burst that grows the pool, a replacement of
//     a discarded instance) starts one goroutine that takes the snapshot; instances
//     created after it is ready start from it. A plugin that never needs a second
//     instance (a one-shot `onex-host run`, a test's single call) never pays for one.
//
// Either way a module the snapshot cannot capture faithfully (snapshot.ErrUnsupported)
// runs from its own image, as without snapshots. Extism plugins are snapshotted the first
// way only, as a module Extism compiles in place of the original (compileExtism).

// backgroundSnapshot is a pooled plugin's snapshot taken in the background. Its zero
// value is ready to use; its methods are safe for concurrent use.
type backgroundSnapshot struct {
	mu sync.Mutex
	// wasm is the module to snapshot, kept (4.6 MB for a Go plugin) until the snapshot
	// starts or stop is called; nil after either, so the snapshot starts at most once.
	wasm    []byte
	stopped bool               // set by stop: a snapshot finishing later is closed, not used
	cancel  context.CancelFunc // ends the snapshot in progress
	done    chan struct{}      // closed when the snapshot's goroutine has ended
	close   func()             // closes the snapshot in use; nil when there is none
}

// snapshotLater starts, once, a goroutine that snapshots the module (lazySnap.wasm, set
// at load) and switches code to it
// (see above). The host's Close waits for the goroutine; the plugin's teardown stops it.
func (p *Plugin) snapshotLater(code *native.Code) {
	bs := &p.lazySnap
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.wasm == nil {
		return
	}
	wasm := bs.wasm
	bs.wasm = nil
	ctx, cancel := context.WithCancel(context.Background())
	bs.cancel = cancel
	bs.done = make(chan struct{})
	p.host.background.Go(func() {
		defer close(bs.done)
		defer cancel()
		start := time.Now()
		closeSnap, err := p.takeSnapshot(ctx, code, wasm)
		if err != nil {
			p.logger.Debug("no snapshot: instances keep starting from the module", "err", err)
			return
		}
		bs.mu.Lock()
		defer bs.mu.Unlock()
		if bs.stopped || closeSnap == nil {
			if closeSnap != nil {
				closeSnap()
			}
			return
		}
		bs.close = closeSnap
		p.logger.Debug("new instances start from a snapshot", "took", time.Since(start))
	})
}

// stop ends a background snapshot in progress (it closes what it made) and closes the
// snapshot in use. It runs at teardown, when no instance is alive any more.
func (bs *backgroundSnapshot) stop() {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	bs.stopped = true
	bs.wasm = nil
	if bs.cancel != nil {
		bs.cancel()
	}
	if bs.close != nil {
		bs.close()
		bs.close = nil
	}
}

// snapshot makes code's instances start from a pre-initialized snapshot of wasm now (the
// load's way, see above), closed with the plugin. A module whose initialization fails is
// left for the first instance to report.
func (p *Plugin) snapshot(ctx context.Context, code *native.Code, wasm []byte) error {
	closeSnap, err := p.takeSnapshot(ctx, code, wasm)
	var pe *PluginError
	switch {
	case errors.As(err, &pe):
		return err
	case err != nil:
		p.logger.Debug("snapshot failed; the first instance reports why", "err", err)
		return nil
	case closeSnap == nil:
		return nil
	}
	release := p.release
	p.release = func() {
		closeSnap()
		release()
	}
	return nil
}

// takeSnapshot snapshots wasm and switches code to it; it returns what closes the
// snapshot (nil, and no error, when the module cannot be snapshotted: it is logged).
// Errors: a *PluginError when the metered module cannot be had; the snapshot's.
func (p *Plugin) takeSnapshot(ctx context.Context, code *native.Code, wasm []byte) (func(), error) {
	if p.metered {
		// The snapshot is of the module the runtime runs: the instrumented one, which the
		// compilation stored in the disk cache (else it is rewritten again: Instrument is
		// deterministic).
		var err error
		if wasm, err = p.host.meteredCode(p.digest, wasm); err != nil {
			return nil, p.pluginError(err)
		}
	}
	compiled, mem, err := code.Snapshot(ctx, wasm)
	switch {
	case errors.Is(err, snapshot.ErrUnsupported):
		p.logger.Info("plugin runs without a snapshot", "reason", err)
		return nil, nil
	case err != nil:
		return nil, err
	}
	code.UseSnapshot(compiled, mem)
	return func() {
		_ = compiled.Close(context.Background())
		if mem != nil {
			_ = mem.Close() // instances still alive keep their mappings
		}
	}, nil
}

// ended returns a channel closed when the background snapshot's goroutine has ended,
// or nil when none was started.
func (bs *backgroundSnapshot) ended() <-chan struct{} {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return bs.done
}
