;; manifestbad.wat: a test fixture whose manifest has an invalid kind.
;;
;; It is echo.wat with one change: the manifest says "kind":"unknown" (SPEC.md section 5
;; allows only compute, effect and reducer), so the host must refuse it at load after
;; calling onex_manifest. "unknown" has the same length as "compute", so the manifest length is
;; unchanged. Keep it in step with echo.wat.
;;
;; Build: wat2wasm manifestbad.wat -o manifestbad.wasm   (see README.md and build.sh)
(module
  ;; log(level, msg_ptr, msg_len) -> status (SPEC.md section 4). Level 0 is info.
  (import "onex" "log"
    (func $log (param $level i32) (param $msg_ptr i32) (param $msg_len i32) (result i32)))

  ;; The linear memory, exported as "memory" (SPEC.md section 1).
  (memory (export "memory") 1)

  ;; ---- Read-only data -------------------------------------------------------------

  ;; The manifest (SPEC.md section 5): 388 bytes of JSON at 0x0400, with the invalid
  ;; kind "unknown": the one line that differs from echo.wat.
  (global $MANIFEST i32 (i32.const 0x0400))
  (global $MANIFEST_LEN i32 (i32.const 388))
  (data (i32.const 0x0400)
    "{\"name\":\"echo\",\"version\":\"1.0.0\",\"kind\":\"unknown\","
    "\"description\":\"Echoes its input; the reference plugin written in WAT from abi/SPEC.md alone\","
    "\"computations\":["
      "{\"name\":\"default\",\"description\":\"Return the input data unchanged\"},"
      "{\"name\":\"length\",\"description\":\"Return the byte length of the input data\","
       "\"output_schema\":{\"type\":\"integer\",\"minimum\":0}}"
    "],"
    "\"deterministic\":true,\"idempotent\":true}")

  ;; Computation names, compared byte for byte with the name the host passes.
  (global $NAME_DEFAULT i32 (i32.const 0x0c00))
  (global $NAME_DEFAULT_LEN i32 (i32.const 7))
  (data (i32.const 0x0c00) "default")
  (global $NAME_LENGTH i32 (i32.const 0x0c10))
  (global $NAME_LENGTH_LEN i32 (i32.const 6))
  (data (i32.const 0x0c10) "length")

  ;; Error payload for status 2 (SPEC.md section 2: {"code", "message", "retryable"}).
  (global $ERR_UNKNOWN i32 (i32.const 0x0c20))
  (global $ERR_UNKNOWN_LEN i32 (i32.const 68))
  (data (i32.const 0x0c20)
    "{\"code\":\"unknown_computation\",\"message\":\"echo: unknown computation\"}")

  ;; Error payload for status 8 (too_large): memory could not grow to hold the output.
  (global $ERR_NOMEM i32 (i32.const 0x0c80))
  (global $ERR_NOMEM_LEN i32 (i32.const 68))
  (data (i32.const 0x0c80)
    "{\"code\":\"too_large\",\"message\":\"echo: no memory left for the output\"}")

  ;; The log line written once per `length` call.
  (global $LOG_LENGTH i32 (i32.const 0x0ce0))
  (global $LOG_LENGTH_LEN i32 (i32.const 22))
  (data (i32.const 0x0ce0) "echo: computing length")

  ;; Where the heap starts: the host's buffer always lives here.
  (global $HEAP_BASE i32 (i32.const 0x1000))

  ;; The end of the host's current buffer ($HEAP_BASE + its size), set by onex_alloc.
  ;; onex_compute puts its output at or past this point, so it never writes into the
  ;; host's buffer beyond the 8-byte return area, even when the host reuses a large
  ;; buffer for a small input. It is an i64 because the end may be exactly 4 GiB.
  (global $buf_end (mut i64) (i64.const 0))

  ;; Status codes used here (SPEC.md section 3).
  (global $STATUS_OK i32 (i32.const 0))
  (global $STATUS_UNKNOWN_COMPUTATION i32 (i32.const 2))
  (global $STATUS_TOO_LARGE i32 (i32.const 8))

  ;; ---- Helpers ----------------------------------------------------------------------

  ;; $ensure grows memory so that it is at least $end bytes long. It returns 1 on
  ;; success and 0 when $end exceeds 4 GiB or memory.grow fails (for example at the
  ;; host's page limit). $end is an i64 so that pointer + length cannot wrap around.
  (func $ensure (param $end i64) (result i32)
    (local $need i64) ;; pages needed: ceil($end / 65536)
    (local $have i64) ;; pages present
    (local.set $need
      (i64.shr_u (i64.add (local.get $end) (i64.const 0xffff)) (i64.const 16)))
    (if (i64.gt_u (local.get $need) (i64.const 65536))
      (then (return (i32.const 0))))
    (local.set $have (i64.extend_i32_u (memory.size)))
    (if (i64.gt_u (local.get $need) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow (i32.wrap_i64 (i64.sub (local.get $need) (local.get $have))))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 1))

  ;; $equal reports (1 or 0) whether the $a_len bytes at $a equal the $b_len bytes at $b.
  (func $equal (param $a i32) (param $a_len i32) (param $b i32) (param $b_len i32)
               (result i32)
    (local $i i32)
    (if (i32.ne (local.get $a_len) (local.get $b_len))
      (then (return (i32.const 0))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $a_len)))
        (if (i32.ne
              (i32.load8_u (i32.add (local.get $a) (local.get $i)))
              (i32.load8_u (i32.add (local.get $b) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 1))

  ;; $format_u32 writes $n (unsigned) as decimal ASCII digits at $dst, with no sign, no
  ;; leading zeros and no terminator, and returns how many bytes it wrote (1 to 10).
  ;; The caller must have room for 10 bytes at $dst.
  (func $format_u32 (param $n i32) (param $dst i32) (result i32)
    (local $digits i32) ;; number of digits in $n
    (local $t i32)
    (local $p i32)      ;; write cursor, moving right to left
    ;; Count the digits: 1, plus one per factor of 10 we can divide out.
    (local.set $digits (i32.const 1))
    (local.set $t (local.get $n))
    (block $counted
      (loop $count
        (br_if $counted (i32.lt_u (local.get $t) (i32.const 10)))
        (local.set $t (i32.div_u (local.get $t) (i32.const 10)))
        (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
        (br $count)))
    ;; Emit the digits from least to most significant, filling from the right.
    (local.set $p (i32.add (local.get $dst) (local.get $digits)))
    (loop $emit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 0x30) ;; '0'
                 (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $emit (i32.ne (local.get $n) (i32.const 0))))
    (local.get $digits))

  ;; $finish writes the return area (SPEC.md section 2, step 3) at $ret: the output
  ;; pointer then the output length, each a little-endian u32 (Wasm stores are always
  ;; little-endian). It returns $status so entry points can end with it.
  (func $finish (param $ret i32) (param $out_ptr i32) (param $out_len i32)
                (param $status i32) (result i32)
    (i32.store offset=0 (local.get $ret) (local.get $out_ptr))
    (i32.store offset=4 (local.get $ret) (local.get $out_len))
    (local.get $status))

  ;; ---- Exports (SPEC.md section 2) ----------------------------------------------------

  ;; onex_abi_v1: () -> (). The ABI version marker. The host reads its name and never
  ;; calls it.
  (func (export "onex_abi_v1"))

  ;; onex_alloc: (size i32) -> (ptr i32).
  ;;
  ;; The host owns the buffer only until its next onex_alloc call, so the plugin never
  ;; needs more than one: every call returns the same region at $HEAP_BASE, growing
  ;; memory first if the region must be larger. The buffer is at least 8 bytes, because
  ;; onex_compute writes its 8-byte return area there even when the input is empty.
  ;; It records the buffer's end in $buf_end. Returns 0 when memory cannot grow.
  (func (export "onex_alloc") (param $size i32) (result i32)
    (if (i32.lt_u (local.get $size) (i32.const 8))
      (then (local.set $size (i32.const 8))))
    (if (i32.eqz
          (call $ensure
            (i64.add (i64.extend_i32_u (global.get $HEAP_BASE))
                     (i64.extend_i32_u (local.get $size)))))
      (then (return (i32.const 0))))
    (global.set $buf_end
      (i64.add (i64.extend_i32_u (global.get $HEAP_BASE))
               (i64.extend_i32_u (local.get $size))))
    (global.get $HEAP_BASE))

  ;; onex_manifest: (ret i32) -> (status i32).
  ;;
  ;; $ret is an 8-byte buffer from onex_alloc. The output is the manifest JSON, which
  ;; lives in the data segment above, so it stays valid for as long as the instance does.
  (func (export "onex_manifest") (param $ret i32) (result i32)
    (call $finish (local.get $ret)
      (global.get $MANIFEST) (global.get $MANIFEST_LEN) (global.get $STATUS_OK)))

  ;; onex_compute: (ptr i32, type_len i32, data_len i32) -> (status i32).
  ;;
  ;; At $ptr the host wrote the computation name ($type_len bytes), then the input data
  ;; ($data_len bytes). The output goes to a region past the end of the host's buffer,
  ;; and the return area is written over the first 8 bytes at $ptr.
  ;;
  ;; Why copy the data instead of pointing the output at it: the data starts at
  ;; $ptr + $type_len, and for "default" that is $ptr + 7, so the return area (bytes 0..7)
  ;; would overwrite its first byte. Copying to a separate region avoids the overlap for
  ;; every name length.
  (func (export "onex_compute")
        (param $ptr i32) (param $type_len i32) (param $data_len i32) (result i32)
    (local $data i32)   ;; where the input data starts
    (local $out i64)    ;; where the output region starts (i64 until we know it fits)
    (local $n i32)      ;; output length

    (local.set $data (i32.add (local.get $ptr) (local.get $type_len)))

    ;; The output region starts at the end of the host's buffer, rounded up to a
    ;; multiple of 8. The buffer holds the input and is at least 8 bytes, but taking the
    ;; largest of the three ends below keeps the output clear of both the input and the
    ;; return area even if $ptr did not come from the last onex_alloc.
    (local.set $out (global.get $buf_end))
    (if (i64.lt_u (local.get $out)
          (i64.add (i64.extend_i32_u (local.get $data)) (i64.extend_i32_u (local.get $data_len))))
      (then (local.set $out
              (i64.add (i64.extend_i32_u (local.get $data))
                       (i64.extend_i32_u (local.get $data_len))))))
    (if (i64.lt_u (local.get $out)
                  (i64.add (i64.extend_i32_u (local.get $ptr)) (i64.const 8)))
      (then (local.set $out
              (i64.add (i64.extend_i32_u (local.get $ptr)) (i64.const 8)))))
    (local.set $out
      (i64.and (i64.add (local.get $out) (i64.const 7)) (i64.const -8)))

    ;; "default": the identity. An empty input gives an empty output, which the host
    ;; reads as null.
    (if (call $equal (local.get $ptr) (local.get $type_len)
                     (global.get $NAME_DEFAULT) (global.get $NAME_DEFAULT_LEN))
      (then
        (if (i32.eqz (call $ensure
                       (i64.add (local.get $out) (i64.extend_i32_u (local.get $data_len)))))
          (then (return (call $finish (local.get $ptr)
                  (global.get $ERR_NOMEM) (global.get $ERR_NOMEM_LEN)
                  (global.get $STATUS_TOO_LARGE)))))
        (memory.copy (i32.wrap_i64 (local.get $out)) (local.get $data) (local.get $data_len))
        (return (call $finish (local.get $ptr)
          (i32.wrap_i64 (local.get $out)) (local.get $data_len) (global.get $STATUS_OK)))))

    ;; "length": the data length in decimal. The input is not parsed: any bytes count.
    (if (call $equal (local.get $ptr) (local.get $type_len)
                     (global.get $NAME_LENGTH) (global.get $NAME_LENGTH_LEN))
      (then
        ;; Logging is best effort: a non-zero status here can only be out_of_bounds (5),
        ;; and then the host fails this call by itself, so the status is dropped.
        (drop (call $log (i32.const 0)
                (global.get $LOG_LENGTH) (global.get $LOG_LENGTH_LEN)))
        (if (i32.eqz (call $ensure (i64.add (local.get $out) (i64.const 10))))
          (then (return (call $finish (local.get $ptr)
                  (global.get $ERR_NOMEM) (global.get $ERR_NOMEM_LEN)
                  (global.get $STATUS_TOO_LARGE)))))
        (local.set $n (call $format_u32 (local.get $data_len) (i32.wrap_i64 (local.get $out))))
        (return (call $finish (local.get $ptr)
          (i32.wrap_i64 (local.get $out)) (local.get $n) (global.get $STATUS_OK)))))

    ;; Anything else: status 2 with a JSON error payload from the data segment.
    (call $finish (local.get $ptr)
      (global.get $ERR_UNKNOWN) (global.get $ERR_UNKNOWN_LEN)
      (global.get $STATUS_UNKNOWN_COMPUTATION)))
)
