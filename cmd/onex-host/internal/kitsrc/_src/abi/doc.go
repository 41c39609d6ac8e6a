// Package abi is the contract between onex-host and its WebAssembly plugins: the names of
// the guest's exports and the host's imports, the status codes they return, the node
// manifest, the ONEX envelopes the host keeps on its side, and small pure decoders.
//
// The full specification, written so a plugin can be built in any language from it
// alone, is SPEC.md in this directory. In brief, for ABI version 1:
//
//   - the guest is a reactor module (no _start) exporting memory, the version marker
//     onex_abi_v1, the allocator onex_alloc, the entry point onex_compute and, unless it
//     carries an onex.manifest custom section, onex_manifest;
//   - the host writes the computation name and the input data into a buffer from
//     onex_alloc and calls onex_compute(ptr, type_len, data_len); the guest writes its
//     output location (pointer, length) into the first 8 bytes of that buffer and returns
//     a Status;
//   - host functions live in the import module "onex", take (pointer, length) pairs and
//     return a Status; they never trap the guest for an ordinary error.
//
// The package holds constants, value types and pure functions only: no state, no I/O,
// standard library only, and it builds for GOOS=wasip1. All its functions are safe for
// concurrent use.
package abi
