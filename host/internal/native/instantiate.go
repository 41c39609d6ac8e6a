package native

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/cowmem"
	"github.com/onexhost/onex-host/host/internal/guest"
	"github.com/onexhost/onex-host/host/internal/meter"
)

// Code is a compiled native module with what its instances need. Its fields are set once,
// before the first NewInstance; it is then safe for concurrent use by multiple goroutines
// (the pool creates instances from several). UseSnapshot may switch it to a snapshot at
// any time, also while instances are being created.
type Code struct {
	Plugin   guest.Plugin
	Runtime  wazero.Runtime        // with WASI and DefineHostModule instantiated
	Compiled wazero.CompiledModule // compiled in Runtime
	// ModConfig is the guests' module configuration; each instance adds its own stdout,
	// stderr and nanosleep.
	ModConfig wazero.ModuleConfig
	// Metered says Compiled is the instrumented module (host/internal/meter) and
	// Runtime a metered one.
	Metered bool

	snap         atomic.Pointer[snapshotCode] // set by UseSnapshot; wins over Compiled
	fromSnapshot atomic.Uint64                // instances created from snap
}

// snapshotCode is a snapshot's compiled module and its memory image (nil when the image
// is in the module's data).
type snapshotCode struct {
	compiled wazero.CompiledModule
	image    *cowmem.Image
}

// UseSnapshot makes every instance created from now on start from compiled, a snapshot
// of the module (see Snapshot), with its memory a copy-on-write mapping of image (nil:
// the image is in compiled's data). Instances created before keep running from the
// original. The caller keeps compiled and image open while any instance of them lives.
func (c *Code) UseSnapshot(compiled wazero.CompiledModule, image *cowmem.Image) {
	c.snap.Store(&snapshotCode{compiled: compiled, image: image})
}

// aheadKey marks the context of an instance made ahead of the calls (see Ahead).
type aheadKey struct{}

// Ahead returns ctx marked for NewInstance: the instance is made ahead of the call that
// will use it (a pool's prewarm or refill), so a snapshot instance's memory is
// pre-faulted with the pages calls touch (host/internal/cowmem): work moved off the call's
// path. Without the mark — an instance made while a caller waits — it is not: faulting
// the few pages one call touches costs less than populating them all.
func Ahead(ctx context.Context) context.Context { return context.WithValue(ctx, aheadKey{}, true) }

// FromSnapshot returns how many instances were created from a snapshot.
func (c *Code) FromSnapshot() uint64 { return c.fromSnapshot.Load() }

// NewInstance instantiates the module for the pool. It runs the guest's _initialize
// under Limits().InitTimeout. Errors are *guest.Failure values.
func (c *Code) NewInstance(ctx context.Context) (*Instance, error) {
	p := c.Plugin
	inst := &Instance{plugin: p}
	inst.cc = callContext{parent: context.Background(), inst: inst, done: make(chan struct{})}
	inst.watch = p.Watch(inst.expire)
	inst.stopByCaller = inst.cc.stopByCaller
	inst.stdout = guest.NewLineWriter(p, "stdout", slog.LevelInfo)
	inst.stderr = guest.NewLineWriter(p, "stderr", slog.LevelWarn)
	timeout := p.Limits().InitTimeout
	ictx, cancel := context.WithTimeout(context.WithValue(ctx, instanceKey{}, inst), timeout)
	defer cancel()
	compiled := c.Compiled
	var memory experimental.MemoryAllocator
	snap := c.snap.Load()
	switch {
	case snap == nil:
	case snap.image == nil:
		compiled, memory = snap.compiled, nil
	case ctx.Value(aheadKey{}) != nil:
		compiled, memory = snap.compiled, snap.image.Allocator()
	default:
		compiled, memory = snap.compiled, snap.image.LazyAllocator()
	}
	if memory != nil {
		ictx = experimental.WithMemoryAllocator(ictx, memory)
	}
	// The guest's sleeps end with the instantiation's context, then with each call's.
	inst.sleep = guest.Sleeper{Ctx: ictx}
	mod, err := c.Runtime.InstantiateModule(ictx, compiled, c.ModConfig.
		WithStdout(inst.stdout).WithStderr(inst.stderr).WithNanosleep(inst.sleep.Nanosleep))
	inst.sleep.Ctx = &inst.cc
	if err != nil {
		op := "instantiate"
		if ictx.Err() != nil {
			return nil, &guest.Failure{Op: op, Kind: guest.KindTimeout, Cause: err,
				Message: fmt.Sprintf("instantiation (the guest's _initialize) did not finish within %v", timeout)}
		}
		return nil, &guest.Failure{Op: op, Kind: guest.KindTrap, Cause: err, Message: guest.FirstLine(err.Error()) + inst.stderr.LastFatal()}
	}
	inst.mod = mod
	if snap != nil {
		c.fromSnapshot.Add(1)
	}
	inst.mem = mod.Memory()
	inst.alloc = mod.ExportedFunction(abi.ExportAlloc)
	inst.compute = mod.ExportedFunction(abi.ExportCompute)
	inst.manifest = mod.ExportedFunction(abi.ExportManifest)
	inst.effect = mod.ExportedFunction(abi.ExportEffect)
	inst.compensate = mod.ExportedFunction(abi.ExportCompensate)
	inst.reduce = mod.ExportedFunction(abi.ExportReduce)
	inst.orchestrate = mod.ExportedFunction(abi.ExportOrchestrate)
	if c.Metered {
		g, ok := mod.ExportedGlobal(meter.DefaultGlobal).(api.MutableGlobal)
		if !ok {
			_ = mod.Close(context.Background())
			return nil, guest.Failf("instantiate", guest.KindInvalidModule,
				"the metered module has no mutable %s global", meter.DefaultGlobal)
		}
		inst.Counter = g
	}
	return inst, nil
}

// ReadManifest calls onex_manifest and decodes the result. Errors are *guest.Failure
// values of Op "load".
func (inst *Instance) ReadManifest(ctx context.Context) (abi.Manifest, error) {
	fail := func(kind guest.Kind, cause error, format string, args ...any) (abi.Manifest, error) {
		return abi.Manifest{}, &guest.Failure{Op: "load", Kind: kind, Cause: cause, Message: fmt.Sprintf(format, args...)}
	}
	if inst.manifest == nil {
		return fail(guest.KindInvalidManifest, nil, "the module has neither an %s custom section nor an %s export", abi.ManifestSection, abi.ExportManifest)
	}
	var deadline time.Time
	if timeout := inst.plugin.Limits().Timeout; timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	b, err := inst.call(ctx, inst.manifest, "load", "", nil, deadline)
	if err != nil {
		return abi.Manifest{}, err
	}
	m, err := abi.DecodeManifest(b)
	if err != nil {
		return fail(guest.KindInvalidManifest, err, "%s: %v", abi.ExportManifest, err)
	}
	return m, nil
}
