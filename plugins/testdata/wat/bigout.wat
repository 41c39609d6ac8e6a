;; bigout.wat: a test fixture with valid ABI exports whose onex_compute returns a
;; 2 MiB output.
;;
;; The output is at pointer 0, length 2,097,152 (0x200000), and is one valid JSON string
;; ("aaa...a"), so its size is its only fault: the host must refuse it against its output
;; cap (too_large). Memory is 33 pages (0x210000 bytes), so the output is in bounds, and the
;; host's buffer sits at 0x200000, above it. Filling the output overwrites the manifest at
;; 0x100; the host reads that once at load, and every new instance starts fresh.
;;
;; Build: wat2wasm bigout.wat -o bigout.wasm   (see README.md and build.sh)
(module
  (memory (export "memory") 33)

  ;; The manifest (SPEC.md section 5), 151 bytes at 0x100. It is valid, so loading can
  ;; only fail for the reason this fixture exists.
  (data (i32.const 0x100)
    "{\"name\":\"bigout\",\"version\":\"1.0.0\",\"kind\":\"compute\",\"description\":\"onex-host test fixture: returns a 2 MiB output\",\"computations\":[{\"name\":\"default\"}]}")

  ;; onex_abi_v1: () -> (), the ABI version marker.
  (func (export "onex_abi_v1"))

  ;; onex_alloc: (size i32) -> (ptr i32). The host owns one buffer at a time, so it is
  ;; always the region at 0x200000; memory grows to hold 0x200000 + size + 8 bytes (so the
  ;; buffer is at least 8 bytes). Returns 0 if memory cannot grow.
  (func (export "onex_alloc") (param $size i32) (result i32)
    (local $need i64) ;; pages needed
    (local.set $need
      (i64.shr_u
        (i64.add (i64.extend_i32_u (local.get $size)) (i64.const 0x210007))
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
    (i32.const 0x200000))

  ;; onex_manifest: (ret i32) -> (status i32). Return area at $ret: pointer, length.
  (func (export "onex_manifest") (param $ret i32) (result i32)
    (i32.store offset=0 (local.get $ret) (i32.const 0x100))
    (i32.store offset=4 (local.get $ret) (i32.const 151))
    (i32.const 0))

  ;; onex_compute: (ptr i32, type_len i32, data_len i32) -> (status i32).
  (func (export "onex_compute")
        (param $ptr i32) (param $type_len i32) (param $data_len i32) (result i32)
    ;; Output bytes 0 .. 0x1fffff: a quote, 0x1ffffe letters 'a', a quote.
    (i32.store8 (i32.const 0) (i32.const 0x22))
    (memory.fill (i32.const 1) (i32.const 0x61) (i32.const 0x1ffffe))
    (i32.store8 (i32.const 0x1fffff) (i32.const 0x22))
    ;; Return area at $ptr (0x200000, outside the output): pointer 0, length 2 MiB.
    (i32.store offset=0 (local.get $ptr) (i32.const 0))
    (i32.store offset=4 (local.get $ptr) (i32.const 0x200000))
    (i32.const 0))
)
