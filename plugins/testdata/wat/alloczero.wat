;; alloczero.wat: a test fixture whose onex_alloc always returns 0 (allocation failed),
;; with memory far below any limit.
;;
;; The host needs an 8-byte buffer at load, to call onex_manifest. It must refuse the
;; module with an error that says onex_alloc returned 0, not one that blames the
;; memory limit.
;;
;; Build: wat2wasm alloczero.wat -o alloczero.wasm   (see README.md and build.sh)
(module
  (memory (export "memory") 1)

  ;; The manifest (SPEC.md section 5), 152 bytes at 0x100. It is valid, so loading can
  ;; only fail for the reason this fixture exists.
  (data (i32.const 0x100)
    "{\"name\":\"alloczero\",\"version\":\"1.0.0\",\"kind\":\"compute\",\"description\":\"onex-host test fixture: onex_alloc returns 0\",\"computations\":[{\"name\":\"default\"}]}")

  ;; onex_abi_v1: () -> (), the ABI version marker.
  (func (export "onex_abi_v1"))

  ;; onex_alloc: (size i32) -> (ptr i32). Always 0: "cannot allocate". This is the fault.
  (func (export "onex_alloc") (param $size i32) (result i32)
    (i32.const 0))

  ;; onex_manifest: (ret i32) -> (status i32). Return area at $ret: pointer, length.
  (func (export "onex_manifest") (param $ret i32) (result i32)
    (i32.store offset=0 (local.get $ret) (i32.const 0x100))
    (i32.store offset=4 (local.get $ret) (i32.const 152))
    (i32.const 0))

  ;; onex_compute: (ptr i32, type_len i32, data_len i32) -> (status i32).
  (func (export "onex_compute")
        (param $ptr i32) (param $type_len i32) (param $data_len i32) (result i32)
    (i32.store offset=0 (local.get $ptr) (local.get $ptr))
    (i32.store offset=4 (local.get $ptr) (i32.const 0))
    (i32.const 0))
)
