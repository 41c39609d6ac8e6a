;; tally.wat: a plugin that keeps state in guest memory, for the isolation tests.
;;
;; Its one computation, default, adds one to a counter in linear memory and returns the
;; new count as a JSON number: 1 on an instance's first call, 2 on its second, and so on.
;; With isolation: fresh every call answers 1; a pooled instance counts up.
;;
;; Build: wat2wasm tally.wat -o tally.wasm   (see README.md and build.sh)
;;
;; Memory layout (one 64 KiB page, never grown):
;;   0x0400  the manifest
;;   0x0800  the counter (i32)
;;   0x0900  the output: the count in decimal, at most 10 bytes
;;   0x1000  the host's buffer from onex_alloc (at most 0xf000 bytes)
(module
  (memory (export "memory") 1)
  (data (i32.const 0x0400) "{\"name\":\"tally\",\"version\":\"1.0.0\",\"kind\":\"compute\",\"description\":\"Counts its calls in guest memory\",\"computations\":[{\"name\":\"default\",\"description\":\"Return how many calls this instance served, this one included\"}],\"deterministic\":false,\"idempotent\":false}")

  (func (export "onex_abi_v1"))

  ;; onex_alloc: the one buffer at 0x1000, or 0 when it does not fit the page.
  (func (export "onex_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $size) (i32.const 0xf000))
      (then (i32.const 0))
      (else (i32.const 0x1000))))

  ;; onex_manifest: the manifest's location in the return area at $ret.
  (func (export "onex_manifest") (param $ret i32) (result i32)
    (i32.store offset=0 (local.get $ret) (i32.const 0x0400))
    (i32.store offset=4 (local.get $ret) (i32.const 255))
    (i32.const 0))

  ;; onex_compute: count this call and return the count in decimal.
  (func (export "onex_compute") (param $ptr i32) (param $type_len i32) (param $data_len i32) (result i32)
    (local $n i32)
    (local $digits i32)
    (local $t i32)
    (local $p i32)
    (local.set $n (i32.add (i32.load (i32.const 0x0800)) (i32.const 1)))
    (i32.store (i32.const 0x0800) (local.get $n))
    ;; Count the digits, then write them right to left.
    (local.set $digits (i32.const 1))
    (local.set $t (local.get $n))
    (block $counted
      (loop $count
        (br_if $counted (i32.lt_u (local.get $t) (i32.const 10)))
        (local.set $t (i32.div_u (local.get $t) (i32.const 10)))
        (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
        (br $count)))
    (local.set $p (i32.add (i32.const 0x0900) (local.get $digits)))
    (loop $emit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 0x30) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $emit (i32.ne (local.get $n) (i32.const 0))))
    (i32.store offset=0 (local.get $ptr) (i32.const 0x0900))
    (i32.store offset=4 (local.get $ptr) (local.get $digits))
    (i32.const 0))
)
