;; sleepeffect.wat: an effect node (abi/SPEC.md section 8) whose effects sleep or call
;; the host until the host stops them, for "deadlines hold inside host calls too" (issue
;; 15); sleep.wat is the same for compute nodes.
;;
;;   sleep      one WASI sleep of 5 s (poll_oneoff with a relative clock subscription),
;;              then returns "slept"
;;   sleeploop  sleeps 5 s, again and again, forever
;;   callloop   calls onex.call("kv.get", {"key":"k"}) again and again, forever (it needs
;;              the key-value store granted)
;;
;; The host must stop each at the effect's deadline, when the caller cancels, or at its
;; shutdown, long before a sleep would have ended, and discard the instance. Every
;; attempt of a retried effect is bounded the same way. It tells the effects apart by the
;; length of their names.
;;
;; Build: wat2wasm sleepeffect.wat -o sleepeffect.wasm   (see README.md and build.sh)
;;
;; Memory: 0x0400 manifest, 0x0c00 the clock subscription (48 bytes), 0x0c40 the event
;; poll_oneoff writes (32 bytes), 0x0c60 the event count, 0x0c68 onex.call's result
;; length, 0x0c80 fixed strings, 0x1000 the host's buffer.
(module
  ;; poll_oneoff(in, out, nsubscriptions, nevents_ptr) -> errno
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  ;; call(op_ptr, op_len, req_ptr, req_len, ret_len_ptr) -> status
  (import "onex" "call"
    (func $call (param i32 i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 1)

  ;; The manifest (SPEC.md section 5), 238 bytes at 0x0400.
  (data (i32.const 0x0400)
    "{\"name\":\"sleepeffect\",\"version\":\"1.0.0\",\"kind\":\"effect\",\"description\":\"onex-host test fixture: effects that sleep or call the host until stopped\",\"effects\":[{\"name\":\"sleep\"},{\"name\":\"sleeploop\"},{\"name\":\"callloop\"}],\"capabilities\":[\"kv\"]}")

  (data (i32.const 0x0c80) "\"slept\"")
  (data (i32.const 0x0ca0) "kv.get")
  (data (i32.const 0x0cb0) "{\"key\":\"k\"}")

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

  (func (export "onex_manifest") (param $ret i32) (result i32)
    (i32.store offset=0 (local.get $ret) (i32.const 0x0400))
    (i32.store offset=4 (local.get $ret) (i32.const 238))
    (i32.const 0))

  ;; onex_effect: (ptr i32, type_len i32, data_len i32) -> (status i32).
  (func (export "onex_effect")
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
    ;; callloop
    (loop $again
      (drop (call $call (i32.const 0x0ca0) (i32.const 6) (i32.const 0x0cb0) (i32.const 11)
                        (i32.const 0x0c68)))
      (br $again))
    ;; Never reached; only here to give the function its i32 result.
    (i32.const 0))
)
