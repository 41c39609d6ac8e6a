package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/capcall"
	"github.com/onexhost/onex-host/host/internal/guest"
	"github.com/onexhost/onex-host/host/internal/native"
	"github.com/onexhost/onex-host/host/internal/pool"
)

// Plugin is a loaded, compiled plugin with its bounded pool of instances. The compiled
// code is shared; every call checks out its own instance, so a Plugin is safe for
// concurrent use by multiple goroutines.
type Plugin struct {
	host *Host
	// refilling is set while a goroutine re-creates a fresh plugin's ready instances;
	// teardown waits for it in refills before closing the compiled modules.
	refilling atomic.Bool
	refills   sync.WaitGroup
	// lazySnap is a pooled plugin's snapshot, taken in the background (snapshot.go).
	lazySnap backgroundSnapshot
	// code is a native plugin's compiled module and what its instances need; nil for
	// Extism plugins.
	code     *native.Code
	name     string
	digest   string
	size     int
	manifest abi.Manifest
	flavour  Flavour
	// offers maps each computation of the manifest to its name inside the guest: itself
	// for native plugins, the exported function for Extism ones.
	offers map[string]string
	// entries holds each Extism computation's Entry; see Plugin.Entry for native ones.
	entries map[string]Entry
	// inputs holds the compiled input schemas the calls check their input against
	// (inputschema.go); empty when PluginConfig.SkipInputValidation is set.
	inputs   inputSchemas
	exports  []string // sorted
	imports  []string // "module.name", in import order
	limits   limits
	logger   *slog.Logger
	eng      *engine
	key      compiledKey
	compiled wazero.CompiledModule  // native plugins only
	metered  bool                   // runs instrumented code in a metered runtime
	extism   *extism.CompiledPlugin // Extism plugins only
	grants   Grants
	caps     capcall.Plugin // what its capability calls reach (effect nodes)
	// config holds the resolved config values (configvalues.go); nil until the manifest
	// is known. Instances read it while the load still runs, hence the atomic.
	config atomic.Pointer[configValues]
	pool   *pool.Pool[guest.Instance]
	// release drops the plugin's reference to its compiled code.
	release func()

	// quarantined is set, for good, when a call of the plugin got stuck (see stuck.go):
	// new calls then fail with ErrQuarantined.
	quarantined atomic.Bool

	// seq orders the plugins of a host by load, so that a lookup can prefer the newest.
	seq uint64

	// The plugin's lifetime is one reference count (see enter, retain and exit): its
	// owner holds one reference until Close, and every call, compensation and effect in
	// flight holds one. Whoever drops the last runs teardown, once: the pool closes (the
	// idle instances are destroyed, each in-use one was destroyed as its call ended),
	// the capabilities and the compiled code are released, the plugin leaves the host's
	// map and done closes. closed, set by Close, refuses new users; refs never rises
	// again from 0.
	refs      atomic.Int64
	closed    atomic.Bool
	done      chan struct{}
	closeOnce sync.Once
}

// Name returns the manifest's name.
func (p *Plugin) Name() string { return p.name }

// Digest returns "sha256:" and the hex SHA-256 of the module's bytes.
func (p *Plugin) Digest() string { return p.digest }

// Size returns the module's size in bytes.
func (p *Plugin) Size() int { return p.size }

// Manifest returns the node manifest. Its slices are shared: do not modify them.
func (p *Plugin) Manifest() abi.Manifest { return p.manifest }

// Timeout returns the per-call timeout in force (0: none).
func (p *Plugin) Timeout() time.Duration { return p.limits.timeout }

// Execution returns how the plugin's guests are stopped, native and Extism plugins alike:
// ExecutionMetered, or ExecutionGuarded (asked for, or a module that cannot be metered,
// which the load logged).
func (p *Plugin) Execution() Execution {
	if p.metered {
		return ExecutionMetered
	}
	return ExecutionGuarded
}

// Flavour returns the plugin's ABI: FlavourNative or FlavourExtism.
func (p *Plugin) Flavour() Flavour { return p.flavour }

// Exports returns the names of the module's exported functions, sorted.
func (p *Plugin) Exports() []string { return slices.Clone(p.exports) }

// Imports returns the module's imported functions as "module.name", in import order.
func (p *Plugin) Imports() []string { return slices.Clone(p.imports) }

// Entry is where a computation runs inside the guest and how its bytes relate to the
// JSON data of ONEX's ComputeInput and ComputeOutput.
type Entry struct {
	Export string   // the exported function: onex_compute for every native computation (onex_reduce for a reducer's reductions, onex_orchestrate for an orchestrator's workflows)
	Input  Encoding // how ComputeInput data becomes the guest's input bytes
	Output Encoding // how the guest's output bytes become the ComputeOutput result
}

// Entry returns computation's Entry and whether the plugin offers computation at all.
// Native computations are JSON both ways; Extism ones follow their ExtismNode.
func (p *Plugin) Entry(computation string) (Entry, bool) {
	if _, ok := p.offers[computation]; !ok {
		return Entry{}, false
	}
	if p.flavour == FlavourExtism {
		return p.entries[computation], true
	}
	switch p.manifest.Kind {
	case abi.KindReducer:
		return Entry{Export: abi.ExportReduce, Input: EncodingJSON, Output: EncodingJSON}, true
	case abi.KindOrchestrator:
		return Entry{Export: abi.ExportOrchestrate, Input: EncodingJSON, Output: EncodingJSON}, true
	}
	return Entry{Export: abi.ExportCompute, Input: EncodingJSON, Output: EncodingJSON}, true
}

// PoolStats describes a plugin's instance pool at one moment. Counters are exact. The
// JSON names are snake_case, as in the rest of the HTTP API.
type PoolStats struct {
	Live      int    `json:"live"`      // instances alive (idle + in use), or being created or destroyed
	Idle      int    `json:"idle"`      // instances waiting in the pool
	InUse     int    `json:"in_use"`    // instances serving a call
	Waiting   int    `json:"waiting"`   // callers waiting for an instance
	Max       int    `json:"max"`       // the bound on live instances (PluginConfig.MaxInstances)
	Created   uint64 `json:"created"`   // instances ever created
	Destroyed uint64 `json:"destroyed"` // instances destroyed, whatever the reason (discarded, trimmed, closed)
	Discarded uint64 `json:"discarded"` // instances destroyed because they faulted (trap, timeout, bad pointer)
	Trimmed   uint64 `json:"trimmed"`   // idle instances destroyed by idle trimming
	Acquired  uint64 `json:"acquired"`  // instances handed to callers
	// FromSnapshot counts the instances created from a pre-initialized snapshot
	// (PluginConfig.Snapshot) rather than from the module, which runs _initialize; it
	// is counted as the instance is made, so a reader may briefly see it above Created.
	FromSnapshot uint64 `json:"from_snapshot"`
}

// Stats returns the pool's statistics.
func (p *Plugin) Stats() PoolStats {
	s := p.pool.Stats()
	ps := PoolStats{Live: s.Live, Idle: s.Idle, InUse: s.InUse, Waiting: s.Waiting, Max: p.limits.maxInstances,
		Created: s.Created, Destroyed: s.Destroyed, Discarded: s.Discarded, Trimmed: s.Trimmed, Acquired: s.Acquired}
	if p.code != nil {
		ps.FromSnapshot = p.code.FromSnapshot()
	}
	return ps
}

// Call runs computation on data (the raw input bytes, by convention JSON) in an instance
// of its own and returns a copy of the guest's result bytes. It blocks until an instance
// is free (honouring ctx) and the guest returns or is stopped at the deadline — the
// earliest of ctx's and the plugin's timeout — also when the guest sleeps or waits in a
// host function (see the package documentation); measured, it returns about a
// millisecond after the deadline or ctx's end (BENCHMARKS.md, "Stopping a runaway
// guest"). A faulted instance is discarded, never reused. Errors are *PluginError values;
// see the sentinels in this package.
//
// On an effect node Call runs one effect without a transaction, retries or breakers, and
// the plugin's capability calls fail with abi.StatusUnsupported: use an effect.Node
// (package host/effect).
func (p *Plugin) Call(ctx context.Context, computation string, data []byte) ([]byte, error) {
	return p.call(ctx, computation, data, nil, nil)
}

// callStats is what one call reports besides its result.
type callStats struct {
	fuel    uint64        // the metered work the guest did
	acquire time.Duration // getting an instance: waiting for one, or creating it
}

// call is Call; a, when not nil, is the effect attempt the call serves, and st, when not
// nil, gets the fuel a metered guest used added and the time spent getting an instance.
func (p *Plugin) call(ctx context.Context, computation string, data []byte, a *capcall.Attempt, st *callStats) ([]byte, error) {
	if !p.enter() {
		return nil, p.errorf(computation, ErrClosed, "the plugin is closed")
	}
	defer p.exit()
	return p.callHeld(ctx, computation, data, a, st)
}

// callHeld is call for a caller that holds a reference to p (see enter).
func (p *Plugin) callHeld(ctx context.Context, computation string, data []byte, a *capcall.Attempt, st *callStats) (out []byte, err error) {
	if p.quarantined.Load() {
		return nil, p.quarantineError(computation)
	}
	target, ok := p.offers[computation]
	if !ok {
		return nil, p.errorf(computation, ErrUnknownComputation, "%q is not in the manifest (%s)", computation, p.computationNames())
	}
	if len(data) > p.limits.maxInput {
		return nil, p.errorf(computation, ErrInputTooLarge, "%d bytes exceeds the %d-byte limit", len(data), p.limits.maxInput)
	}
	// Every door (Call, a compute node's operations, each effect attempt, a reducer's
	// fold) comes through here, so this is where the input meets its schema.
	if err := p.checkInput(computation, data); err != nil {
		return nil, err
	}
	acquireStart := time.Now()
	inst, err := p.pool.Acquire(ctx)
	if st != nil {
		st.acquire += time.Since(acquireStart)
	}
	if err != nil {
		return nil, p.acquireError(computation, err)
	}
	returned := false
	defer func() {
		if !returned {
			// The call panicked: the instance's state is unknown, so it goes, and its
			// slot with it.
			p.pool.Discard(inst)
		}
	}()
	if p.quarantined.Load() {
		// Quarantined while this call waited for an instance.
		returned = true
		p.put(inst)
		return nil, p.quarantineError(computation)
	}
	// The plugin's timeout is the guest's: it starts when the guest gets its instance,
	// so waiting for one (bounded by ctx) does not eat it.
	var deadline time.Time
	if p.limits.timeout > 0 {
		deadline = time.Now().Add(p.limits.timeout)
	}
	out, err = inst.Invoke(ctx, computation, target, data, deadline, capsOf(a))
	if st != nil {
		st.fuel += inst.FuelUsed()
	}
	returned = true
	p.put(inst)
	return out, p.pluginError(err)
}

// put returns an instance to the pool, or discards it when it faulted.
func (p *Plugin) put(inst guest.Instance) {
	if inst.Faulted() || p.limits.fresh {
		p.pool.Discard(inst)
		if p.limits.fresh {
			p.refill()
		}
		return
	}
	p.pool.Release(inst)
}

// enter takes a reference for a new user of the plugin (a call, a compensation, an
// effect); false once Close has been called. Each true is matched by one exit.
func (p *Plugin) enter() bool {
	for {
		n := p.refs.Load()
		if n == 0 || p.closed.Load() {
			return false
		}
		if p.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// retain takes a reference even after Close, as long as the plugin is not torn down:
// a closed version still draining can finish the work of its own effects (a
// compensation found by digest, say). Each true is matched by one exit.
func (p *Plugin) retain() bool {
	for {
		n := p.refs.Load()
		if n == 0 {
			return false
		}
		if p.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// exit drops a reference; the last one tears the plugin down.
func (p *Plugin) exit() {
	if p.refs.Add(-1) == 0 {
		p.teardown()
	}
}

// teardown runs once, when the last reference is dropped.
func (p *Plugin) teardown() {
	p.pool.Close()
	p.refills.Wait() // a refill ends with its instance once the pool is closed
	p.lazySnap.stop()
	p.closeCapabilities()
	p.release()
	p.host.mu.Lock()
	delete(p.host.plugins, p)
	p.host.mu.Unlock()
	close(p.done)
}

// Close stops new calls (they fail with ErrClosed) and drops the owner's reference: when
// the calls in flight have finished the instances are destroyed, the compiled module is
// released and the plugin leaves the host. Close waits for that or for ctx to end; when
// ctx ends first it returns ctx's error, and the teardown still happens, run by the last
// call to finish (instances in use are destroyed as their calls end). Close is
// idempotent: calling it again waits again.
func (p *Plugin) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		p.exit()
	})
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("host: plugin %s: close: %d calls still running (the plugin closes when they end): %w",
			p.name, p.refs.Load(), ctx.Err())
	}
}

// acquireError turns a pool error into a *PluginError.
func (p *Plugin) acquireError(op string, err error) error {
	var pe *PluginError
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.As(err, new(*guest.Failure)):
		return p.pluginError(err)
	case errors.Is(err, pool.ErrClosed):
		return p.errorf(op, ErrClosed, "the plugin is closed")
	default:
		return p.waitError(op, err, fmt.Sprintf("waiting for an instance (%d in use)", p.limits.maxInstances))
	}
}

// waitError is the error of a caller whose context ended while it waited for something
// (an instance, a shared computation); any other err is a host failure.
func (p *Plugin) waitError(op string, err error, waiting string) *PluginError {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &PluginError{Plugin: p.name, Op: op, Kind: ErrTimeout, Retryable: true, Cause: err,
			Message: "the caller's deadline passed while " + waiting}
	case errors.Is(err, context.Canceled):
		return &PluginError{Plugin: p.name, Op: op, Kind: ErrCanceled, Cause: err, Message: "canceled while " + waiting}
	default:
		return &PluginError{Plugin: p.name, Op: op, Kind: ErrFailed, Cause: err, Message: err.Error()}
	}
}

// loadError names the load operation on an error from the first instance.
func (p *Plugin) loadError(err error) error {
	err = p.pluginError(err)
	if pe, ok := errors.AsType[*PluginError](err); ok {
		pe.Op = "load"
		return pe
	}
	return p.acquireError("load", err)
}

func (p *Plugin) errorf(op string, kind error, format string, args ...any) *PluginError {
	return &PluginError{Plugin: p.name, Op: op, Kind: kind, Message: fmt.Sprintf(format, args...)}
}

func (p *Plugin) computationNames() string {
	offers := p.manifest.Offers()
	names := make([]string, len(offers))
	for i, c := range offers {
		names[i] = c.Name
	}
	return "offered: " + fmt.Sprint(names)
}
