;; clockinit.wat: a reactor that reads the monotonic clock in _initialize, for the
;; snapshot tests (host/internal/native).
;;
;; _initialize stores WASI's monotonic clock at 0x0800. The computation default reads the
;; clock again and returns 1 when it is no earlier than the stored reading, else 0: an
;; instance started from a snapshot must never see time run backwards.
;;
;; Build: wat2wasm clockinit.wat -o clockinit.wasm   (see README.md and build.sh)
;;
;; Memory layout (one 64 KiB page, never grown):
;;   0x0400  the manifest
;;   0x0800  the clock at init (i64); 0x0808 the clock now (i64)
;;   0x0900  the output, one byte
;;   0x1000  the host's buffer from onex_alloc (at most 0xf000 bytes)
(module
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param $id i32) (param $precision i64) (param $out i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0x0400) "{\"name\":\"clockinit\",\"version\":\"1.0.0\",\"kind\":\"compute\",\"description\":\"Compares the monotonic clock with its reading at init\",\"computations\":[{\"name\":\"default\",\"description\":\"Return 1 if the monotonic clock reads no earlier than it did in _initialize, else 0\"}],\"deterministic\":false,\"idempotent\":true}")

  (func (export "onex_abi_v1"))

  ;; _initialize: the clock at init. Clock id 1 is monotonic.
  (func (export "_initialize")
    (drop (call $clock_time_get (i32.const 1) (i64.const 0) (i32.const 0x0800))))

  (func (export "onex_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $size) (i32.const 0xf000))
      (then (i32.const 0))
      (else (i32.const 0x1000))))

  (func (export "onex_manifest") (param $ret i32) (result i32)
    (i32.store offset=0 (local.get $ret) (i32.const 0x0400))
    (i32.store offset=4 (local.get $ret) (i32.const 301))
    (i32.const 0))

  (func (export "onex_compute") (param $ptr i32) (param $type_len i32) (param $data_len i32) (result i32)
    (drop (call $clock_time_get (i32.const 1) (i64.const 0) (i32.const 0x0808)))
    (i32.store8 (i32.const 0x0900)
      (i32.add (i32.const 0x30)
        (i64.ge_u (i64.load (i32.const 0x0808)) (i64.load (i32.const 0x0800)))))
    (i32.store offset=0 (local.get $ptr) (i32.const 0x0900))
    (i32.store offset=4 (local.get $ptr) (i32.const 1))
    (i32.const 0))
)
