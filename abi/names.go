package abi

// Version is the native ABI version this package describes. A guest declares the version it
// was built for by exporting a function named VersionExportPrefix followed by the decimal
// version, for example "onex_abi_v1".
const Version = 1

// Names of the functions a guest exports. Every entry export has the Wasm type
// (i32, i32, i32) -> i32 except where noted; see SPEC.md for the calling convention.
const (
	// VersionExportPrefix starts the name of the ABI-version marker export. The marker is a
	// function of type () -> () that the host never calls; its name alone carries the
	// version, so the host checks it at load without running guest code.
	VersionExportPrefix = "onex_abi_v"
	// VersionExport is the marker export for this ABI version.
	VersionExport = "onex_abi_v1"
	// ExportAlloc is the guest allocator, (size i32) -> i32: it returns the address of a
	// buffer of at least size bytes that the host owns until its next call to ExportAlloc.
	ExportAlloc = "onex_alloc"
	// ExportManifest writes the node manifest (JSON) as the call's output:
	// (ret i32) -> i32 status. Optional when the module carries a ManifestSection.
	ExportManifest = "onex_manifest"
	// ExportCompute runs one computation of a compute node.
	ExportCompute = "onex_compute"
	// ExportEffect runs one effect of an effect node: (ptr i32, type_len i32, data_len
	// i32) -> i32 status, the same contract as ExportCompute, with the effect type in
	// place of the computation name. An effect node exports it instead of ExportCompute.
	ExportEffect = "onex_effect"
	// ExportCompensate undoes a guest-defined compensation the node registered with
	// OpTxCompensate: the same contract again, with the compensation's name and payload.
	// Optional; required only by nodes that register compensations.
	ExportCompensate = "onex_compensate"
	// ExportInitialize is the reactor initialiser (-buildmode=c-shared); the host runs it
	// once per instance when present.
	ExportInitialize = "_initialize"
	// ExportStart marks a command-mode module, which the native ABI refuses: WASI's
	// proc_exit closes such a module after one call.
	ExportStart = "_start"
)

// ImportModule is the one Wasm import module that holds every host function.
const ImportModule = "onex"

// Names of the host functions in ImportModule. Each returns a Status as i32.
const (
	// ImportLog is log(level i32, msg_ptr i32, msg_len i32) -> i32 status. Level follows
	// log/slog: -4 debug, 0 info, 4 warn, 8 error (other values are rounded down to one of
	// those). The message is UTF-8 text of at most MaxLogMessage bytes; longer ones are
	// truncated by the host.
	ImportLog = "log"
	// ImportCall calls a host capability: call(op_ptr i32, op_len i32, req_ptr i32,
	// req_len i32, ret_len_ptr i32) -> i32 status. op is one of the Op constants, req its
	// JSON request. The host leaves the JSON response (or, on a non-zero status, an Error)
	// in the instance's result register and writes its length as a u32 at ret_len_ptr.
	// Only effect nodes may call it, and only for capabilities granted to them.
	ImportCall = "call"
	// ImportResult copies the result register into guest memory: result(dst_ptr i32,
	// dst_len i32) -> i32 status. dst_len must equal the length call reported; the
	// register is cleared by the next host-function call.
	ImportResult = "result"
	// ImportConfig reads one of the node's config values: config(key_ptr i32, key_len
	// i32, ret_len_ptr i32) -> i32 status. The host leaves the value (UTF-8 text) in the
	// result register and writes its length at ret_len_ptr, like ImportCall; the guest
	// copies it with ImportResult. StatusNotFound: the key is declared but has no value;
	// StatusInvalidInput: the manifest does not declare the key. Any node kind may call it.
	ImportConfig = "config"
)

// WASIModule is the WASI preview 1 import module. Hosts provide it without preopened
// directories, environment or arguments, because standard-Go guests import it even when
// they do no I/O.
const WASIModule = "wasi_snapshot_preview1"

// ManifestSection is the name of the optional Wasm custom section holding the node
// manifest as JSON. When present the host reads it without running guest code.
const ManifestSection = "onex.manifest"

// ReturnAreaSize is the size in bytes of the return area an entry export writes its output
// location to: the output pointer then its length, each a little-endian u32.
const ReturnAreaSize = 8

// MaxLogMessage is the largest log message, in bytes, a host keeps from one log call.
const MaxLogMessage = 64 << 10
