;; extismsleep.wat: an Extism plugin (it imports extism:host/env, so the host loads it
;; through Extism's runtime) whose functions sleep or call the host until the host stops
;; them, for "deadlines hold inside host calls too" (issue 15); sleep.wat is the same for
;; native compute nodes.
;;
;;   sleep      () -> i32: one WASI sleep of 5 s (poll_oneoff with a relative clock
;;              subscription), then returns 0
;;   sleeploop  () -> i32: sleeps 5 s, again and again, forever
;;   callloop   () -> i32: calls Extism's input_length again and again, forever
;;   http       () -> i32: sends its input, an Extism HTTP request as JSON (for example
;;              {"url":"http://127.0.0.1:8080/","method":"GET"}), with Extism's
;;              http_request, ignores the response and returns 0
;;
;; The host must stop each at the call's deadline or when the caller cancels, long
;; before a sleep would have ended (or a slow server answered), and discard the instance.
;;
;; Build: wat2wasm extismsleep.wat -o extismsleep.wasm   (see README.md and build.sh)
;;
;; Memory: 0x0c00 the clock subscription (48 bytes), 0x0c40 the event poll_oneoff writes
;; (32 bytes), 0x0c60 the event count.
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_offset" (func $input_offset (result i64)))
  (import "extism:host/env" "http_request" (func $http_request (param i64 i64) (result i64)))
  ;; poll_oneoff(in, out, nsubscriptions, nevents_ptr) -> errno
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 1)

  ;; $sleep asks WASI to sleep for 5 s: one subscription, relative to the monotonic
  ;; clock (subscription layout: userdata u64 @0, tag u8 @8 (0: clock), clock id u32 @16,
  ;; timeout u64 @24 in ns, precision u64 @32, flags u16 @40 (0: relative)).
  (func $sleep
    (i64.store (i32.const 0x0c00) (i64.const 0))
    (i64.store (i32.const 0x0c08) (i64.const 0))
    (i32.store (i32.const 0x0c10) (i32.const 1))
    (i64.store (i32.const 0x0c18) (i64.const 5_000_000_000))
    (i64.store (i32.const 0x0c20) (i64.const 0))
    (i64.store (i32.const 0x0c28) (i64.const 0))
    (drop (call $poll_oneoff (i32.const 0x0c00) (i32.const 0x0c40) (i32.const 1) (i32.const 0x0c60))))

  (func (export "sleep") (result i32)
    (call $sleep)
    (i32.const 0))

  (func (export "sleeploop") (result i32)
    (loop $again
      (call $sleep)
      (br $again))
    ;; Never reached; only here to give the function its i32 result.
    (i32.const 0))

  (func (export "callloop") (result i32)
    (loop $again
      (drop (call $input_length))
      (br $again))
    ;; Never reached; only here to give the function its i32 result.
    (i32.const 0))

  (func (export "http") (result i32)
    (drop (call $http_request (call $input_offset) (i64.const 0)))
    (i32.const 0))
)
