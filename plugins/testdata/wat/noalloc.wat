;; noalloc.wat: a test fixture missing the required export `onex_alloc`.
;;
;; It exports memory, onex_abi_v1, onex_manifest and onex_compute, so the missing allocator
;; is its only fault; the host must refuse it at load (SPEC.md section 2). (Without an
;; allocator the host has nowhere to put onex_manifest's return area either.)
;;
;; Build: wat2wasm noalloc.wat -o noalloc.wasm   (see README.md and build.sh)
(module
  (memory (export "memory") 1)

  ;; The manifest (SPEC.md section 5), 146 bytes at 0x100. It is valid, so loading can
  ;; only fail for the reason this fixture exists.
  (data (i32.const 0x100)
    "{\"name\":\"noalloc\",\"version\":\"1.0.0\",\"kind\":\"compute\",\"description\":\"onex-host test fixture: lacks onex_alloc\",\"computations\":[{\"name\":\"default\"}]}")

  ;; onex_abi_v1: () -> (), the ABI version marker.
  (func (export "onex_abi_v1"))

  ;; onex_manifest: (ret i32) -> (status i32). Return area at $ret: pointer, length.
  (func (export "onex_manifest") (param $ret i32) (result i32)
    (i32.store offset=0 (local.get $ret) (i32.const 0x100))
    (i32.store offset=4 (local.get $ret) (i32.const 146))
    (i32.const 0))

  ;; onex_compute: (ptr i32, type_len i32, data_len i32) -> (status i32).
  (func (export "onex_compute")
        (param $ptr i32) (param $type_len i32) (param $data_len i32) (result i32)
    ;; Status 0 with an empty output (the result null): return area = (ptr, 0).
    (i32.store offset=0 (local.get $ptr) (local.get $ptr))
    (i32.store offset=4 (local.get $ptr) (i32.const 0))
    (i32.const 0))
)
