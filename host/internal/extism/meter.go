package extism

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	sdk "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero/api"

	"github.com/onexhost/onex-host/host/internal/guest"
	"github.com/onexhost/onex-host/host/internal/meter"
)

// Metered Extism plugins. Only the plugin's own module is rewritten (host/internal/meter),
// never Extism's kernel, which is trusted code the host functions call for a bounded
// amount of work. The rewritten module imports onex.fuel, which Extism's runtime serves
// as a host function (fuel); that runtime then runs without close-on-context-done,
// and each call's deadline or cancellation, and its fuel budget, take effect at the
// guest's next refill, exactly as for native guests (guest.Fuel.Refill).

// ErrNotMeterable is wrapped by the reasons an Extism module runs guarded although
// metered execution was asked for (see Compile); the host logs them.
var ErrNotMeterable = errors.New("host: the Extism module cannot be metered")

// callKey is the context key under which fuel finds the calling instance.
type callKey struct{}

// instrument rewrites an Extism plugin's module to meter itself. Errors wrap
// meter.ErrMalformed (the module is broken), or ErrNotMeterable for a module that
// is valid but must run guarded: one the rewriter refuses (meter.ErrUnsupported or
// meter.ErrConflict, wrapped too), one with a start function (Extism instantiates it
// outside any call, where its fuel checks could reach no instance), or any module when
// this go-sdk version hides the guest module from the host (see guestModule).
func instrument(wasm []byte) ([]byte, error) {
	if guestField == nil {
		return nil, fmt.Errorf("%w: this go-sdk version gives no access to the guest module's fuel counter", ErrNotMeterable)
	}
	code, info, err := meter.Instrument(wasm, meter.Options{})
	switch {
	case errors.Is(err, meter.ErrUnsupported), errors.Is(err, meter.ErrConflict):
		return nil, fmt.Errorf("%w: %w", ErrNotMeterable, err)
	case err != nil:
		return nil, err
	case info.Start:
		return nil, fmt.Errorf("%w: it has a start function, which Extism runs outside any call", ErrNotMeterable)
	}
	return code, nil
}

// fuelFunction is onex.fuel for Extism's runtime.
func fuelFunction() sdk.HostFunction {
	f := sdk.NewHostFunctionWithStack(meter.DefaultImportName, fuel, nil, nil)
	f.SetNamespace(meter.DefaultImportModule)
	return f
}

// fuel implements the meter's refill import for Extism guests: guest.Fuel.Refill of the
// instance whose call ctx is. Extism runs a guest only inside a call (it defers even
// the guest runtime's initialisation to the first one), and Instance.Invoke always
// puts the instance in the call's context; should a refill ever come from elsewhere, it
// ends that call rather than run it unmetered.
func fuel(ctx context.Context, _ *sdk.CurrentPlugin, _ []uint64) {
	xi, _ := ctx.Value(callKey{}).(*Instance)
	if xi == nil || xi.Counter == nil {
		panic(guest.ErrStopped)
	}
	xi.Refill(ctx)
}

// guestField is the field of sdk.Plugin that holds the guest module (nil when
// this go-sdk version has none). go-sdk v1.7.1 offers no accessor for the guest module —
// Plugin.Module wraps it without its globals, CurrentPlugin.Memory is the kernel's — and
// its host functions are not told their caller, yet the host must set and read the
// guest's fuel counter around every call. The field is looked up once, by name and type,
// so that a go-sdk release that renames or retypes it makes Extism plugins run guarded
// (their load logs why), never read the wrong memory.
var guestField = func() *reflect.StructField {
	f, ok := reflect.TypeFor[sdk.Plugin]().FieldByName("mainModule")
	if !ok || f.Type != reflect.TypeFor[api.Module]() || len(f.Index) != 1 {
		return nil
	}
	return &f
}()

// guestModule returns the guest module of an Extism instance: the plugin's own code,
// apart from Extism's kernel. It returns nil when guestField is nil.
func guestModule(x *sdk.Plugin) api.Module {
	if guestField == nil {
		return nil
	}
	v := reflect.ValueOf(x).Elem().Field(guestField.Index[0])
	return *(*api.Module)(unsafe.Pointer(v.UnsafeAddr()))
}
