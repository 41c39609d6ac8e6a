// Package meter rewrites a Wasm binary module at load time so that it meters its own
// execution: a fuel counter in a Wasm global, charged with the instructions each stretch
// of straight-line code holds as it starts, checked at every loop and function entry,
// and a host import called when it runs out. The host then runs guests without wazero's
// close-on-context-done (a goroutine per call and an exit to Go at every loop
// iteration, see "Guarded execution" in DESIGN.md) and still stops a runaway guest: from
// inside the import, which is the only place a guest can spin without passing a check.
//
// # What is added
//
//   - One imported function, Options.ImportModule.Options.ImportName (default
//     "onex"."fuel"), of type () -> (), appended after the module's last import. Its
//     type is the first existing () -> () type, or one appended to the type section.
//   - One mutable i64 global, the counter, appended after the module's last global,
//     initialised to 0 and exported as Options.Global (default "onex_fuel").
//   - One i64 local in every defined function, appended after its own locals: the fuel
//     local, which holds the counter while the function runs. It is loaded from the
//     counter at entry and after every call, and stored back before every call and
//     every exit (return, a branch to the function's label, its final end), so the
//     counter is exact whenever other code (a callee, the host) can see it. Arithmetic
//     on a local compiles to a register operation; on a global, to a load and a store.
//   - A charge at the start of every segment (below), a check at the start of every
//     loop body and at the entry of every function, except one that reaches a loop
//     through straight-line code only, whose loop's check runs at every entry anyway.
//
// A charge and a check, with L the fuel local, G the counter and R the refill:
//
//	charge:  local.get L; i64.const <cost>; i64.sub; local.set L
//	check:   local.get L; i64.const <cost>; i64.sub; local.tee L; i64.const 0; i64.lt_s
//	         if; local.get L; global.set G; call R; global.get G; local.set L; end
//
// They leave the operand stack as they found it and open no label that the original
// code could see (the if block is closed before the original code resumes), so branch
// depths are unchanged. A loop with parameters keeps them on the stack below the check.
//
// # Indices
//
// Every index space the rewriting extends is checked against the input's own counts,
// in code and in every constant expression (global initialisers, element and data
// offsets, element expressions) and in exports: functions (the import shifts them),
// globals (the counter), types (the refill's type may be appended), locals (the fuel
// local) and, because the scanner tracks them, labels. An index the input cannot use is
// refused with ErrInvalid. That is what makes the counter, the fuel local and the refill
// unreachable from guest code by construction: the only instructions in the output that
// name them are the ones the rewriter wrote, since any input instruction that could
// would have named an index past the input's end. (Without the check, global.set of
// the first index past the input's globals would refill the guest's own fuel.)
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
// functions. The counter, the type and the fuel local are appended after the last of
// their kind, so no global, type or local index moves.
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
// Fuel counts Wasm instructions executed, one unit each, structured ones included
// (block, loop, if, else and an end reached by falling through; an end reached by a
// branch does not run), plus ImportCallFuel per call to an imported function (below). Each function body is cut into segments of straight-line code:
// a segment starts at the function's entry, at the start of a loop body, after if, after
// else, after br_if (the code that runs when it does not branch), and after the end of
// an if or of a block that a branch targets (a join). Nothing else can enter a segment
// but its start, and nothing but a trap leaves it before its end, so charging a segment's
// instruction count where it starts charges exactly the instructions that run. Code
// that no execution can reach (after br, br_table, return or unreachable, up to the end
// or else of its block) is charged nothing. Hence, for a call that does not trap, the
// fuel charged equals the instructions executed (with import calls at their price), exactly; a trap leaves the rest of its
// segment charged but not run. The tests hold the model to this with a second
// instrumentation that charges every instruction on its own.
//
// Checks go where execution can come back: the start of every loop body, and every
// function entry (recursion), except that a function that reaches a loop through
// straight-line code only (blocks, locals, globals, constants, numeric operations,
// loads and stores; no branch, if, call or end) leaves it to that loop's check. Between
// two checks a guest runs at most the segments of one loop body or function body, so the
// counter overshoots by at most that much; Info.MaxCost is the largest single charge.
// Calls are charged in the callee. A call to an imported function (a host function, or
// another module's, such as Extism's kernel) costs 1 + ImportCallFuel: what it does is
// outside the module's meter, and a guest that calls it in a loop must still come back to
// its refill at a pace that tracks time (the host's own functions also end a call whose
// deadline passed). Instructions that touch many bytes at once (memory.copy, memory.fill,
// memory.init, table.* bulk operations) cost one each.
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
// guarded. Bytes that are not a well-formed module give ErrMalformed, and indices out
// of range ErrInvalid (see Indices); the rewriter does not check types (wazero does,
// when the result is compiled): its code leaves types as they were, so a module
// invalid for a type error stays invalid.
package meter
