;; versioned2.wat: version 2 of the node "versioned", for the server's hot-reload test.
;; Its one computation, "default", ignores its input and returns the JSON number 2, so a
;; client sees exactly when a reload switches it to the other version (versioned1.wat and
;; versioned2.wat differ only in that number and the manifest's version).
;;
;; Build: wat2wasm versioned2.wat -o versioned2.wasm   (see build.sh)
(module
  (memory (export "memory") 1)

  ;; Manifest at 0x400, the result at 0x800, the host's buffer at 0x1000.
  (data (i32.const 0x400)
    "{\"name\":\"versioned\",\"version\":\"2.0.0\",\"kind\":\"compute\",\"computations\":[{\"name\":\"default\"}]}")
  (data (i32.const 0x800) "2")

  (func (export "onex_abi_v1"))

  ;; One buffer at 0x1000, grown on demand; 0 when memory cannot grow.
  (func (export "onex_alloc") (param $size i32) (result i32)
    (local $need i32)
    (local.set $need
      (i32.shr_u (i32.add (i32.add (local.get $size) (i32.const 0x1008)) (i32.const 0xffff)) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then (if (i32.eq (memory.grow (i32.sub (local.get $need) (memory.size))) (i32.const -1))
        (then (return (i32.const 0))))))
    (i32.const 0x1000))

  (func (export "onex_manifest") (param $ret i32) (result i32)
    (i32.store (local.get $ret) (i32.const 0x400))
    (i32.store offset=4 (local.get $ret) (i32.const 91))
    (i32.const 0))

  (func (export "onex_compute") (param $ptr i32) (param $type_len i32) (param $data_len i32) (result i32)
    (i32.store (local.get $ptr) (i32.const 0x800))
    (i32.store offset=4 (local.get $ptr) (i32.const 1))
    (i32.const 0))
)
