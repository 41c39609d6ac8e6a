package host

// Flavour is the ABI a plugin speaks.
type Flavour string

const (
	// FlavourNative is onex-host's own ABI (abi/SPEC.md), used by the sdk package.
	FlavourNative Flavour = "native"
	// FlavourExtism is the ABI of Extism's plugin development kits: the module imports
	// extism:host/env and exports functions that take and return bytes.
	FlavourExtism Flavour = "extism"
)
