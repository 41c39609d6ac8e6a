package host

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero/api"

	"github.com/onexhost/onex-host/host/internal/guest"
	"github.com/onexhost/onex-host/host/internal/meter"
)

// Metered Extism plugins. Only the plugin's own module is rewritten (host/internal/meter),
// never Extism's kernel, which is trusted code the host functions call for a bounded
// amount of work. The rewritten module imports onex.fuel, which Extism's runtime serves
// as a host function (extismFuel); that runtime then runs without close-on-context-done,
// and each call's deadline or cancellation, and its fuel budget, take effect at the
// guest's next refill, exactly as for native guests (fuelMeter.refill).

// errExtismNotMeterable is wrapped by the reasons an Extism module runs guarded although
// metered execution was asked for; loadExtism logs them.
var errExtismNotMeterable = errors.New("host: the Extism module cannot be metered")

// extismCallKey is the context key under which extismFuel finds the calling instance.
type extismCallKey struct{}

// instrumentExtism rewrites an Extism plugin's module to meter itself. Errors wrap
// meter.ErrMalformed (the module is broken), or errExtismNotMeterable for a module that
// is valid but must run guarded: one the rewriter refuses (meter.ErrUnsupported or
// meter.ErrConflict, wrapped too), one with a start function (Extism instantiates it
// outside any call, where its fuel checks could reach no instance), or any module when
// this go-sdk version hides the guest module from the host (see extismGuest).
func instrumentExtism(wasm []byte) ([]byte, error) {
	if extismGuestField == nil {
		return nil, fmt.Errorf("%w: this go-sdk version gives no access to the guest module's fuel counter", errExtismNotMeterable)
	}
	code, info, err := meter.Instrument(wasm, meter.Options{})
	switch {
	case errors.Is(err, meter.ErrUnsupported), errors.Is(err, meter.ErrConflict):
		return nil, fmt.Errorf("%w: %w", errExtismNotMeterable, err)
	case err != nil:
		return nil, err
	case info.Start:
		return nil, fmt.Errorf("%w: it has a start function, which Extism runs outside any call", errExtismNotMeterable)
	}
	return code, nil
}

// extismFuelFunction is onex.fuel for Extism's runtime.
func extismFuelFunction() extism.HostFunction {
	f := extism.NewHostFunctionWithStack(meter.DefaultImportName, extismFuel, nil, nil)
	f.SetNamespace(meter.DefaultImportModule)
	return f
}

// extismFuel implements the meter's refill import for Extism guests: fuelMeter.refill of
// the instance whose call ctx is. Extism runs a guest only inside a call (it defers even
// the guest runtime's initialisation to the first one), and extismInstance.invoke always
// puts the instance in the call's context; should a refill ever come from elsewhere, it
// ends that call rather than run it unmetered.
func extismFuel(ctx context.Context, _ *extism.CurrentPlugin, _ []uint64) {
	xi, _ := ctx.Value(extismCallKey{}).(*extismInstance)
	if xi == nil || xi.Counter == nil {
		panic(guest.ErrStopped)
	}
	xi.Refill(ctx)
}

// extismGuestField is the field of extism.Plugin that holds the guest module (nil when
// this go-sdk version has none). go-sdk v1.7.1 offers no accessor for the guest module —
// Plugin.Module wraps it without its globals, CurrentPlugin.Memory is the kernel's — and
// its host functions are not told their caller, yet the host must set and read the
// guest's fuel counter around every call. The field is looked up once, by name and type,
// so that a go-sdk release that renames or retypes it makes Extism plugins run guarded
// (their load logs why), never read the wrong memory.
var extismGuestField = func() *reflect.StructField {
	f, ok := reflect.TypeFor[extism.Plugin]().FieldByName("mainModule")
	if !ok || f.Type != reflect.TypeFor[api.Module]() || len(f.Index) != 1 {
		return nil
	}
	return &f
}()

// extismGuest returns the guest module of an Extism instance: the plugin's own code,
// apart from Extism's kernel. It returns nil when extismGuestField is nil.
func extismGuest(x *extism.Plugin) api.Module {
	if extismGuestField == nil {
		return nil
	}
	v := reflect.ValueOf(x).Elem().Field(extismGuestField.Index[0])
	return *(*api.Module)(unsafe.Pointer(v.UnsafeAddr()))
}
