package host

import (
	"github.com/tetratelabs/wazero"
)

// Flavour is the ABI a plugin speaks.
type Flavour string

const (
	// FlavourNative is onex-host's own ABI (abi/SPEC.md), used by the sdk package.
	FlavourNative Flavour = "native"
	// FlavourExtism is the ABI of Extism's plugin development kits: the module imports
	// extism:host/env and exports functions that take and return bytes.
	FlavourExtism Flavour = "extism"
)

// extismHostModule is the import module every Extism PDK plugin uses.
const extismHostModule = "extism:host/env"

// detectFlavour decides from the imports: a module importing extism:host/env is an
// Extism plugin; anything else is checked against the native ABI.
func detectFlavour(mod wazero.CompiledModule) Flavour {
	for _, d := range mod.ImportedFunctions() {
		if m, _, _ := d.Import(); m == extismHostModule {
			return FlavourExtism
		}
	}
	return FlavourNative
}
