;; badmarker.wat: a test fixture whose ABI version marker onex_abi_v1 has type
;; (i32) -> () instead of () -> () (SPEC.md section 2).
;;
;; Everything else is valid. The host must refuse it at load: invalid module.
;;
;; Build: wat2wasm badmarker.wat -o badmarker.wasm   (see README.md and build.sh)
(module
  (memory (export "memory") 1)

  ;; The manifest (SPEC.md section 5), 162 bytes at 0x100. It is valid, so loading can
  ;; only fail for the reason this fixture exists.
  (data (i32.const 0x100)
    "{\"name\":\"badmarker\",\"version\":\"1.0.0\",\"kind\":\"compute\",\"description\":\"onex-host test fixture: its ABI marker has a parameter\",\"computations\":[{\"name\":\"default\"}]}")

  ;; onex_abi_v1 with the wrong type: (i32) -> (). This is the fault.
  (func (export "onex_abi_v1") (param i32))

  ;; onex_alloc: (size i32) -> (ptr i32). The host owns one buffer at a time, so it is
  ;; always the region at 0x400; memory grows to hold 0x400 + size + 8 bytes (so the
  ;; buffer is at least 8 bytes). Returns 0 if memory cannot grow.
  (func (export "onex_alloc") (param $size i32) (result i32)
    (local $need i64) ;; pages needed
    (local.set $need
      (i64.shr_u
        (i64.add (i64.extend_i32_u (local.get $size)) (i64.const 0x10407))
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
    (i32.const 0x400))

  ;; onex_manifest: (ret i32) -> (status i32). Return area at $ret: pointer, length.
  (func (export "onex_manifest") (param $ret i32) (result i32)
    (i32.store offset=0 (local.get $ret) (i32.const 0x100))
    (i32.store offset=4 (local.get $ret) (i32.const 162))
    (i32.const 0))

  ;; onex_compute: (ptr i32, type_len i32, data_len i32) -> (status i32).
  (func (export "onex_compute")
        (param $ptr i32) (param $type_len i32) (param $data_len i32) (result i32)
    ;; Status 0 with an empty output (the result null): return area = (ptr, 0).
    (i32.store offset=0 (local.get $ptr) (local.get $ptr))
    (i32.store offset=4 (local.get $ptr) (i32.const 0))
    (i32.const 0))
)
