package extism

import (
	"context"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/onexhost/onex-host/host/internal/snapshot"
)

// PreInitialize returns wasm pre-initialized (host/internal/snapshot): its WASI
// reactor's _initialize run once, the resulting memory and globals its data, without the
// export — so Extism, which runs _initialize at an instance's first call, finds none and
// starts the guest where the snapshot stood. Hand the result to Compile instead of wasm.
//
// The initialization runs in a runtime of its own (sharing cache), with WASI as Extism
// gives it (NewModConfig) and Extism's kernel functions as stubs that fail: an
// initialization that calls one (reads its config, logs through Extism, allocates in the
// kernel) depends on the instance and is not snapshotted. So is one that does not end
// within timeout.
//
// Errors: snapshot.ErrUnsupported (wrapped) when the module cannot be snapshotted
// faithfully, it is no reactor (a command's constructors are not saved; neither is a
// Haskell runtime's hs_init, which Extism runs too), or its initialization calls Extism; a
// compilation's error.
func PreInitialize(ctx context.Context, cache wazero.CompilationCache, wasm []byte, timeout time.Duration) ([]byte, error) {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache).WithCloseOnContextDone(true))
	defer rt.Close(context.Background())
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("extism: pre-initialize: %w", err)
	}
	exports := compiled.ExportedFunctions()
	if _, ok := exports["_initialize"]; !ok {
		return nil, fmt.Errorf("%w: no _initialize export (not a WASI reactor)", snapshot.ErrUnsupported)
	}
	if _, ok := exports["hs_init"]; ok {
		return nil, fmt.Errorf("%w: a Haskell runtime (Extism also runs its hs_init)", snapshot.ErrUnsupported)
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return nil, fmt.Errorf("extism: pre-initialize: %w", err)
	}
	kernel := rt.NewHostModuleBuilder(HostModule)
	stubs := 0
	for _, d := range compiled.ImportedFunctions() {
		module, name, _ := d.Import()
		if module != HostModule {
			continue
		}
		stubs++
		kernel.NewFunctionBuilder().WithGoModuleFunction(refuse(name), d.ParamTypes(), d.ResultTypes()).Export(name)
	}
	if stubs > 0 {
		if _, err := kernel.Instantiate(ctx); err != nil {
			return nil, fmt.Errorf("extism: pre-initialize: %w", err)
		}
	}
	module, _, err := snapshot.TakeWith(ctx, rt, wasm, NewModConfig().WithStartFunctions("_initialize"), snapshot.Options{InitTimeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", snapshot.ErrUnsupported, err)
	}
	return module, nil
}

// refuse is the stub of Extism's kernel function name: it fails the initialization that
// calls it (see PreInitialize).
func refuse(name string) api.GoModuleFunc {
	return func(context.Context, api.Module, []uint64) {
		panic(fmt.Sprintf("the initialization calls Extism's %s: it depends on the instance and is not snapshotted", name))
	}
}
