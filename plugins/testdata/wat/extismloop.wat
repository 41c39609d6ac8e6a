;; extismloop.wat: an Extism plugin (it imports extism:host/env, so the host loads it
;; through Extism's runtime) for stopping runaway Extism guests.
;;
;; spin () -> i32 never returns: `loop br 0`, calling nothing. The host must stop it at
;; the call's deadline, or when its fuel budget runs out, and discard the instance.
;;
;; count () -> i32 runs a loop once per input byte (input_length times) and returns 0
;; with no output: the same input always takes the same work, for fuel tests.
;;
;; Build: wat2wasm extismloop.wat -o extismloop.wasm   (see README.md and build.sh)
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (memory (export "memory") 1)

  (func (export "spin") (result i32)
    (loop $forever
      (br $forever))
    ;; Never reached; only here to give the function its i32 result.
    (i32.const 0))

  (func (export "count") (result i32)
    (local $n i64)
    (local.set $n (call $input_length))
    (block $done
      (loop $next
        (br_if $done (i64.eqz (local.get $n)))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $next)))
    (i32.const 0))
)
