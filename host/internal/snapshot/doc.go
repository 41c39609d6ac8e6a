// Package snapshot pre-initializes a Wasm module (Wizer's idea): Take instantiates the
// module once, lets its start functions (a reactor's _initialize, the Go runtime's and
// packages' init) run, captures the resulting linear memory and mutable globals, and
// returns a rewritten module whose data is that image, in a few large active segments,
// whose mutable globals start at the captured values, and which has neither a start
// section nor an _initialize export. An instance of the rewritten module starts where the
// original one stood after its initialization, without running it again. With
// Options.Image the module has no data segments at all and the image comes apart, for a
// host that starts each instance's memory as a copy-on-write mapping of it
// (host/internal/cowmem): instantiation then copies nothing.
//
// # What a snapshot freezes
//
// Everything the initialization computed is shared by every instance: a random seed it
// drew (the Go runtime's hash seed and math/rand's default source) is the same in every
// instance of one snapshot; crypto/rand still asks WASI on every read. The monotonic
// clock the guest read during initialization was the host process's (wazero's
// WithSysNanotime counts from the process's start), so an instance of a snapshot taken in
// the same process never sees it run backwards; snapshots are therefore kept in memory,
// never on disk across processes. WASI state (descriptors, arguments, environment) lives
// in the host and is fresh for each instance. Tables are rebuilt from the module's element
// segments: an initialization that changes a table is not captured (Take cannot see
// tables; no Go or TinyGo runtime does this).
//
// Take refuses (ErrUnsupported) a module it cannot snapshot faithfully: an imported
// memory, several memories, passive data segments, or a mutable global of a reference or
// vector type.
package snapshot
