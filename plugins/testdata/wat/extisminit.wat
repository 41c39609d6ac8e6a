;; extisminit.wat: an Extism plugin that is a WASI reactor — Extism runs its _initialize
;; at an instance's first call — for the snapshot tests (host/internal/extism,
;; PreInitialize). _initialize counts its runs in $inits and writes that count into the
;; text "inits=? calls=?" in linear memory; status () -> i32 counts its calls the same
;; way and outputs the text. A plugin initialised exactly once outputs "inits=1 calls=N"
;; at its Nth call, with or without a snapshot; one whose snapshot were initialised again
;; would say inits=2.
;;
;; Build: wat2wasm extisminit.wat -o extisminit.wasm   (see README.md and build.sh)
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)
  (global $inits (mut i32) (i32.const 0))
  (global $calls (mut i32) (i32.const 0))
  (data (i32.const 0x100) "inits=0 calls=0")

  (func (export "_initialize")
    (global.set $inits (i32.add (global.get $inits) (i32.const 1)))
    (i32.store8 (i32.const 0x106) (i32.add (i32.const 48) (global.get $inits))))

  (func (export "status") (result i32)
    (local $out i64)
    (local $i i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store8 (i32.const 0x10e) (i32.add (i32.const 48) (global.get $calls)))
    (local.set $out (call $alloc (i64.const 15)))
    (block $done
      (loop $copy
        (br_if $done (i32.ge_u (local.get $i) (i32.const 15)))
        (call $store_u8
          (i64.add (local.get $out) (i64.extend_i32_u (local.get $i)))
          (i32.load8_u (i32.add (i32.const 0x100) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $copy)))
    (call $output_set (local.get $out) (i64.const 15))
    (i32.const 0))
)
