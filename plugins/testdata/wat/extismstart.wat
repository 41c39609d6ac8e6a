;; extismstart.wat: an Extism plugin with a start function, which Extism runs while it
;; instantiates the module, outside any call. The host cannot meter such a module (its
;; fuel checks would run where no call can be charged) and must run it guarded.
;;
;; The start function sets $ready to 1; run () -> i32 returns 1 - $ready, so 0 (success)
;; once the start function ran.
;;
;; Build: wat2wasm extismstart.wat -o extismstart.wasm   (see README.md and build.sh)
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (memory (export "memory") 1)
  (global $ready (mut i32) (i32.const 0))

  (func $init
    (global.set $ready (i32.const 1)))
  (start $init)

  (func (export "run") (result i32)
    (i32.sub (i32.const 1) (global.get $ready)))
)
