;; slowinit.wat: a test fixture whose _initialize sleeps 1.5 s (one WASI sleep) and whose
;; one computation, "fast", returns "1" at once: every new instance is slow to create,
;; no call is slow to run. The host's slow-operation warning must not count instance
;; creation as the operation (issue 17).
;;
;; Build: wat2wasm slowinit.wat -o slowinit.wasm   (see README.md and build.sh)
;;
;; Memory: 0x0400 manifest, 0x0c00 the clock subscription (48 bytes), 0x0c40 the event
;; poll_oneoff writes (32 bytes), 0x0c60 the event count, 0x0c80 the result, 0x1000 the
;; host's buffer.
(module
  ;; poll_oneoff(in, out, nsubscriptions, nevents_ptr) -> errno
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 1)

  ;; The manifest (SPEC.md section 5), 147 bytes at 0x0400.
  (data (i32.const 0x0400)
    "{\"name\":\"slowinit\",\"version\":\"1.0.0\",\"kind\":\"compute\",\"description\":\"onex-host test fixture: slow to instantiate\",\"computations\":[{\"name\":\"fast\"}]}")

  (data (i32.const 0x0c80) "1")

  ;; _initialize sleeps 1.5 s: one subscription relative to the monotonic clock (layout
  ;; as in sleep.wat).
  (func (export "_initialize")
    (i64.store (i32.const 0x0c00) (i64.const 0))
    (i64.store (i32.const 0x0c08) (i64.const 0))
    (i32.store (i32.const 0x0c10) (i32.const 1))
    (i64.store (i32.const 0x0c18) (i64.const 1_500_000_000))
    (i64.store (i32.const 0x0c20) (i64.const 0))
    (i64.store (i32.const 0x0c28) (i64.const 0))
    (drop (call $poll_oneoff (i32.const 0x0c00) (i32.const 0x0c40) (i32.const 1) (i32.const 0x0c60))))

  ;; onex_abi_v1: () -> (), the ABI version marker.
  (func (export "onex_abi_v1"))

  ;; onex_alloc: (size i32) -> (ptr i32): always 0x1000, memory grown to hold it; 0 if
  ;; it cannot grow.
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
    (i32.store offset=4 (local.get $ret) (i32.const 147))
    (i32.const 0))

  ;; onex_compute: (ptr i32, type_len i32, data_len i32) -> (status i32): "1".
  (func (export "onex_compute")
        (param $ptr i32) (param $type_len i32) (param $data_len i32) (result i32)
    (i32.store offset=0 (local.get $ptr) (i32.const 0x0c80))
    (i32.store offset=4 (local.get $ptr) (i32.const 1))
    (i32.const 0))
)
