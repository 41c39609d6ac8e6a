;; allocedge.wat: a test fixture whose onex_alloc returns a buffer 4 bytes from the end
;; of its one-page memory, whatever size was asked for.
;;
;; The host asks for 8 bytes to call onex_manifest; the buffer it gets runs past the end
;; of memory. The host must check the buffer before using it (before writing input or
;; calling the guest) and refuse the module with an out-of-bounds error naming
;; onex_alloc. onex_manifest writes its return area without checking, so a host that
;; does not check first sees a trap instead.
;;
;; Build: wat2wasm allocedge.wat -o allocedge.wasm   (see README.md and build.sh)
(module
  (memory (export "memory") 1)

  ;; The manifest (SPEC.md section 5), 180 bytes at 0x100. It is valid, so loading can
  ;; only fail for the reason this fixture exists.
  (data (i32.const 0x100)
    "{\"name\":\"allocedge\",\"version\":\"1.0.0\",\"kind\":\"compute\",\"description\":\"onex-host test fixture: onex_alloc returns a buffer at the end of memory\",\"computations\":[{\"name\":\"default\"}]}")

  ;; onex_abi_v1: () -> (), the ABI version marker.
  (func (export "onex_abi_v1"))

  ;; onex_alloc: (size i32) -> (ptr i32). Always 0xFFFC, 4 bytes before the end of the
  ;; one-page memory, which never grows. This is the fault.
  (func (export "onex_alloc") (param $size i32) (result i32)
    (i32.const 0xFFFC))

  ;; onex_manifest: (ret i32) -> (status i32). Return area at $ret: pointer, length.
  (func (export "onex_manifest") (param $ret i32) (result i32)
    (i32.store offset=0 (local.get $ret) (i32.const 0x100))
    (i32.store offset=4 (local.get $ret) (i32.const 180))
    (i32.const 0))

  ;; onex_compute: (ptr i32, type_len i32, data_len i32) -> (status i32).
  (func (export "onex_compute")
        (param $ptr i32) (param $type_len i32) (param $data_len i32) (result i32)
    (i32.store offset=0 (local.get $ptr) (local.get $ptr))
    (i32.store offset=4 (local.get $ptr) (i32.const 0))
    (i32.const 0))
)
