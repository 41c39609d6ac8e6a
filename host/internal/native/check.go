package native

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/guest"
)

// signature is a Wasm function type, for export checks.
type signature struct{ params, results []api.ValueType }

var i32 = api.ValueTypeI32

var requiredExports = map[string]signature{
	abi.ExportAlloc: {[]api.ValueType{i32}, []api.ValueType{i32}},
}

var optionalExports = map[string]signature{
	abi.ExportCompute:     {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
	abi.ExportEffect:      {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
	abi.ExportCompensate:  {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
	abi.ExportReduce:      {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
	abi.ExportOrchestrate: {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
	abi.ExportManifest:    {[]api.ValueType{i32}, []api.ValueType{i32}},
	abi.ExportInitialize:  {nil, nil},
}

// Check checks the compiled module's exports and imports (imports, as the module's
// import section lists them) against the ABI, so that a module the runtime could not link
// is refused here, naming the fault, rather than at instantiation with the runtime's text.
//
// wasiNames are the WASI functions the runtime provides, and provided the type of each
// function it provides ("module.name"). Errors are *guest.Failure values of Op "load".
func Check(mod wazero.CompiledModule, wasiNames map[string]bool, provided map[string]api.FunctionDefinition, imports []abi.Import) error {
	fail := func(kind guest.Kind, format string, args ...any) error {
		return guest.Failf("load", kind, format, args...)
	}
	exports := mod.ExportedFunctions()
	if _, ok := exports[abi.ExportStart]; ok {
		return fail(guest.KindCommandModule, "the module exports _start: it is a command, which exits after one call. "+
			"Build Go plugins with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared (keeping an empty func main), "+
			"or build a reactor in other languages")
	}
	var versions []int
	for name := range exports {
		if v, ok := strings.CutPrefix(name, abi.VersionExportPrefix); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fail(guest.KindABIVersion, "malformed ABI marker export %q", name)
			}
			versions = append(versions, n)
		}
	}
	sort.Ints(versions)
	switch {
	case len(versions) == 0:
		return fail(guest.KindABIVersion, "no %s<N> export: not an onex-host plugin (nor an Extism plugin: it does not import extism:host/env)", abi.VersionExportPrefix)
	case len(versions) > 1:
		return fail(guest.KindABIVersion, "the module declares ABI versions %v; declare exactly one", versions)
	case versions[0] != abi.Version:
		return fail(guest.KindABIVersion, "the module declares ABI version %d; this host supports version %d", versions[0], abi.Version)
	}
	marker := abi.VersionExportPrefix + strconv.Itoa(abi.Version)
	if err := checkSignature(marker, exports[marker], signature{}); err != nil {
		return fail(guest.KindInvalidModule, "%v", err)
	}
	if _, ok := mod.ExportedMemories()["memory"]; !ok {
		return fail(guest.KindInvalidModule, "the module must export its linear memory as \"memory\"")
	}
	for name, want := range requiredExports {
		def, ok := exports[name]
		if !ok {
			return fail(guest.KindInvalidModule, "missing the required export %s", name)
		}
		if err := checkSignature(name, def, want); err != nil {
			return fail(guest.KindInvalidModule, "%v", err)
		}
	}
	for name, want := range optionalExports {
		if def, ok := exports[name]; ok {
			if err := checkSignature(name, def, want); err != nil {
				return fail(guest.KindInvalidModule, "%v", err)
			}
		}
	}
	if len(mod.ImportedMemories()) > 0 {
		return fail(guest.KindUnknownImport, "the module imports a memory; it must define and export its own")
	}
	for _, im := range imports {
		if im.Kind != abi.ImportFunc {
			return fail(guest.KindUnknownImport, "the module imports the %s %s.%s; the host provides functions only (abi/SPEC.md section 1)",
				im.Kind, im.Module, im.Name)
		}
	}
	var unknown, mistyped []string
	for _, def := range mod.ImportedFunctions() {
		module, name, _ := def.Import()
		switch {
		case module == abi.WASIModule && wasiNames[name]:
		case module == abi.ImportModule && hostFunctions[name]:
		default:
			unknown = append(unknown, module+"."+name)
			continue
		}
		if want, ok := provided[module+"."+name]; ok &&
			(!equalTypes(def.ParamTypes(), want.ParamTypes()) || !equalTypes(def.ResultTypes(), want.ResultTypes())) {
			mistyped = append(mistyped, fmt.Sprintf("%s.%s with type %s (the host's has type %s)", module, name,
				typeString(def.ParamTypes(), def.ResultTypes()), typeString(want.ParamTypes(), want.ResultTypes())))
		}
	}
	if len(unknown) > 0 {
		return fail(guest.KindUnknownImport, "the host does not provide %s", strings.Join(unknown, ", "))
	}
	if len(mistyped) > 0 {
		return fail(guest.KindUnknownImport, "the module imports %s", strings.Join(mistyped, "; "))
	}
	return nil
}

func checkSignature(name string, def api.FunctionDefinition, want signature) error {
	if !equalTypes(def.ParamTypes(), want.params) || !equalTypes(def.ResultTypes(), want.results) {
		return errors.New("export " + name + " has type " + typeString(def.ParamTypes(), def.ResultTypes()) +
			", want " + typeString(want.params, want.results))
	}
	return nil
}

func equalTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func typeString(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return names(params) + " -> " + names(results)
}
