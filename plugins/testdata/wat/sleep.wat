;; sleep.wat: a test fixture with valid ABI exports whose computations sleep, spin or
;; call the host until the host stops them, for "deadlines hold inside host calls too"
;; (issue 15). It is a compute node; sleepeffect.wat is the same for effect nodes and
;; extismsleep.wat for Extism.
;;
;;   sleep      one WASI sleep of 5 s (poll_oneoff with a relative clock subscription,
;;              what Go's time.Sleep and Rust's thread::sleep do), then returns "slept"
;;   sleeploop  sleeps 5 s, again and again, forever
;;   spin       `loop br 0`, calling nothing
;;   logloop    calls onex.log (debug) again and again, forever
;;
;; The host must stop each at the call's deadline, when the caller cancels, or at its
;; shutdown, long before a sleep would have ended, and discard the instance. It tells the
;; computations apart by the length of their names.
;;
;; Build: wat2wasm sleep.wat -o sleep.wasm   (see README.md and build.sh)
;;
;; Memory: 0x0400 manifest, 0x0c00 the clock subscription (48 bytes), 0x0c40 the event
;; poll_oneoff writes (32 bytes), 0x0c60 the event count, 0x0c80 fixed strings, 0x1000
;; the host's buffer.
(module
  ;; poll_oneoff(in, out, nsubscriptions, nevents_ptr) -> errno
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  ;; log(level, msg_ptr, msg_len) -> status
  (import "onex" "log"
    (func $log (param i32 i32 i32) (result i32)))

  (memory (export "memory") 1)

  ;; The manifest (SPEC.md section 5), 236 bytes at 0x0400.
  (data (i32.const 0x0400)
    "{\"name\":\"sleep\",\"version\":\"1.0.0\",\"kind\":\"compute\",\"description\":\"onex-host test fixture: guests that sleep, spin or call the host until stopped\",\"computations\":[{\"name\":\"sleep\"},{\"name\":\"sleeploop\"},{\"name\":\"spin\"},{\"name\":\"logloop\"}]}")

  (data (i32.const 0x0c80) "\"slept\"")
  (data (i32.const 0x0ca0) "sleep: tick")

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

  ;; onex_abi_v1: () -> (), the ABI version marker.
  (func (export "onex_abi_v1"))

  ;; onex_alloc: (size i32) -> (ptr i32). The host owns one buffer at a time, so it is
  ;; always the region at 0x1000; memory grows to hold it. Returns 0 if it cannot grow.
  (func (export "onex_alloc") (param $size i32) (result i32)
    (local $need i64) ;; pages needed
    (local.set $need
      (i64.shr_u
        (i64.add (i64.extend_i32_u (local.get $size)) (i64.const 0x11007))
        (i64.const 16)))
    (if (i64.gt_u (local.get $need) (i64.extend_i32_u (memory.size)))
      (then
        (if (i64.gt_u (local.get $need) (i64.const 65536))
          (then (return (i32.const 0))))
        (if (i32.eq
              (memory.grow
                (i32.wrap_i64 (i64.sub (local.get $need) (i64.extend_i32_u (memory.size)))))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 0x1000))

  ;; onex_manifest: (ret i32) -> (status i32). Return area at $ret: pointer, length.
  (func (export "onex_manifest") (param $ret i32) (result i32)
    (i32.store offset=0 (local.get $ret) (i32.const 0x0400))
    (i32.store offset=4 (local.get $ret) (i32.const 236))
    (i32.const 0))

  ;; onex_compute: (ptr i32, type_len i32, data_len i32) -> (status i32).
  (func (export "onex_compute")
        (param $ptr i32) (param $type_len i32) (param $data_len i32) (result i32)
    ;; sleep: once, then "slept".
    (if (i32.eq (local.get $type_len) (i32.const 5))
      (then
        (call $sleep)
        (i32.store offset=0 (local.get $ptr) (i32.const 0x0c80))
        (i32.store offset=4 (local.get $ptr) (i32.const 7))
        (return (i32.const 0))))
    ;; sleeploop
    (if (i32.eq (local.get $type_len) (i32.const 9))
      (then
        (loop $again
          (call $sleep)
          (br $again))))
    ;; logloop
    (if (i32.eq (local.get $type_len) (i32.const 7))
      (then
        (loop $again
          (drop (call $log (i32.const -4) (i32.const 0x0ca0) (i32.const 11)))
          (br $again))))
    ;; spin
    (loop $forever
      (br $forever))
    ;; Never reached; only here to give the function its i32 result.
    (i32.const 0))
)
