// Package meter rewrites a Wasm binary module at load time so that it meters its own
// execution: a fuel counter in a Wasm global, decremented at every function entry and
// at the start of every loop body, and a host import called when it runs out. The host
// then runs guests without wazero's close-on-context-done (a goroutine per call and an
// exit to Go at every loop iteration, see "Guarded execution" in DESIGN.md) and still
// stops a runaway guest: from inside the import, which is the only place a guest can
// spin without passing a check.
//
// # What is added
//
//   - One imported function, Options.ImportModule.Options.ImportName (default
//     "onex"."fuel"), of type () -> (), appended after the module's last import. Its
//     type is the first existing () -> () type, or one appended to the type section.
//   - One mutable i64 global, the counter, appended after the module's last global,
//     initialised to 0 and exported as Options.Global (default "onex_fuel").
//   - A check right after the block type of every loop (so at the start of each
//     iteration) and at the entry of every defined function, except a function whose
//     first loop is reached through straight-line code only (see the cost model).
//
// The check is
//
//	global.get $fuel
//	i64.const  <cost>
//	i64.sub
//	global.set $fuel
//	global.get $fuel
//	i64.const  0
//	i64.lt_s
//	if
//	  call $refill
//	end
//
// The check uses only the global: it leaves the operand stack as it found it, adds no
// local, and opens no label that the original code could see (its if block is closed
// before the original code resumes), so branch depths are unchanged. A loop with
// parameters keeps them on the stack below the check.
//
// # Indices
//
// Imports precede definitions in the function index space, so adding an import shifts
// every defined function up by one. That cannot be avoided (wrapping an import the
// module already has would tie metering to what each guest imports), so the rewriter
// renumbers, everywhere a function index can appear: call and ref.func in code, ref.func
// in global initialisers and in element expressions, the index vectors and expressions
// of all eight element segment encodings (active, passive and declarative), function
// exports, the start function, and the "name" custom section (function names, local
// names and label names, all keyed by function index). A name section that cannot be
// decoded is dropped and Info.NamesDropped says so; the import gets no name. Imported
// functions keep their indices, and call_indirect names types and tables, not
// functions.
//
// The counter is a defined global appended after the last one, not an import, so no
// global index moves: global.get and global.set, global exports and initialisers, and
// element and data offsets stay as they are. Types are appended too, so block types and
// call_indirect keep their type indices. Nothing else refers to a function or global by
// index: the data count, data and table sections are copied unchanged.
//
// Sections that need no change are copied byte for byte, custom sections included, in
// their place; sections the module lacks (type, import, global, export) are created
// where the binary format puts them. Changed numbers are re-encoded as canonical
// LEB128 and section and body sizes recomputed; untouched numbers, padded or not, are
// kept as they were. Custom sections that locate code by byte offset (DWARF .debug_*,
// source maps, branch hints) are kept too but now point into the uninstrumented code:
// stack traces built from them (wazero's WithDebugInfoEnabled, on by default) may name
// the wrong source line.
//
// # Cost model
//
// Each function body is split into regions: the body outside any loop, and each loop
// body outside the loops nested in it. A region's cost is its static instruction count
// (its own end included; the loop instruction itself belongs to the enclosing region),
// and the check at the region's start charges it in full. Execution enters a region
// only through its start: within one entry, control moves only forward (block and if
// branch forward, and a branch to a loop re-enters that loop's region through its
// check), so each instruction of the region runs at most once per entry. Hence the
// fuel charged is an upper bound on the Wasm instructions executed, and the bound is
// exact for straight-line loop bodies. It over-charges the code an if, a br or a return
// skips, which for the standard Go compiler's output (large functions that dispatch on
// a block index) can be several times the real count. Calls are charged in the callee;
// host functions and instructions that touch many bytes at once (memory.copy,
// memory.fill, memory.init, table.* bulk operations) cost one each. Recursion without
// a loop is metered by the entry check. Info.MaxCost is the largest single charge.
//
// A function whose body leads into a loop through straight-line code only — blocks
// opened, locals, globals, constants, numeric operations, loads and stores; no branch,
// if, call or end — runs that loop's check at every entry, so the loop's check stands
// in for the entry check and also charges the entry region, at every iteration: still
// an upper bound, looser by the entry region per iteration. This is done only when the
// entry region costs at most 16, which the standard Go compiler's functions (every one
// starts with a loop; 3 to 8) meet: each call then pays one check instead of two.
//
// The count is deterministic: the same module, input and budget stop at the same
// instruction every run.
//
// # The host's side
//
// The counter starts at 0, so the first check of every instance (the start function
// and _initialize included) calls the import unless the host has set the counter
// first. When a check leaves the counter negative it calls the import once; the host
// should add its next chunk to the counter (not set it), so that fuel used is always
// the fuel handed out minus the counter. If the counter is still negative after the
// import returns, the next check calls it again. The import ends the call when the
// deadline or budget is spent, by panicking with an error value: wazero unwinds the
// guest and returns that error (wrapped) from the call.
//
// # Supported and refused
//
// Supported: the MVP, sign extension, non-trapping float-to-int conversion, bulk
// memory, reference types (funcref and externref), multi-value (type-index block types
// and loops with parameters), mutable globals and fixed-width SIMD (every opcode of the
// final SIMD proposal). Refused with ErrUnsupported, naming the feature or opcode and its
// offset: threads (the 0xfe prefix, shared memories), tail calls, exception handling
// (instructions, tag section and tag imports), function references and GC (typed
// references, struct and array types, table initialisers), memory64 and table64,
// multi-memory (memory indices in memargs and in memory instructions), custom page
// sizes, relaxed SIMD, any unknown opcode or section, and a function with more than
// 50,000 locals (wazero allocates a byte per declared local before validating, so such
// a module would let a few bytes of input claim gigabytes of host memory). Such a module must run
// guarded. Bytes that are not a well-formed module give ErrMalformed; the rewriter does
// not validate types (wazero does, when the result is compiled) but checks every index
// it renumbers against the function count, so it never writes an index that could wrap.
package meter
