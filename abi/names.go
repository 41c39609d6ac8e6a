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
	// ExportEffect is reserved for effect nodes; v1 hosts do not call it.
	ExportEffect = "onex_effect"
	// ExportCompensate is reserved for effect compensation; v1 hosts do not call it.
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
	// ImportResult is reserved for the result register of later capabilities:
	// result(dst_ptr i32, dst_len i32) -> i32 status. v1 hosts do not provide it.
	ImportResult = "result"
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
