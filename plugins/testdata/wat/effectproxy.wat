;; effectproxy.wat: an effect node that performs exactly one capability operation per
;; effect, for the host's tests of abi/SPEC.md section 8.
;;
;; The effect type is the op name (for example "kv.put") and the effect's data is that
;; op's JSON request: onex_effect passes both to onex.call, copies the result register
;; with onex.result, and returns call's status with the register's bytes as its output
;; (the response, or the host's error payload). The effect "fail" performs nothing and
;; returns status 9 (unavailable, retryable), for retry tests.
;;
;; Build: wat2wasm effectproxy.wat -o effectproxy.wasm   (see build.sh)
;;
;; Memory: 0x0400 manifest, 0x0c00 fixed strings, 0x1000 the host's buffer, then output.
(module
  (import "onex" "call"
    (func $call (param i32 i32 i32 i32 i32) (result i32)))
  (import "onex" "result"
    (func $result (param i32 i32) (result i32)))

  (memory (export "memory") 1)

  (global $MANIFEST i32 (i32.const 0x0400))
  (global $MANIFEST_LEN i32 (i32.const 354))
  (data (i32.const 0x0400)
    "{\"name\":\"effectproxy\",\"version\":\"1.0.0\",\"kind\":\"effect\","
    "\"effects\":[{\"name\":\"fs.read\"},{\"name\":\"fs.write\"},{\"name\":\"fs.delete\"},"
    "{\"name\":\"fs.list\"},{\"name\":\"kv.get\"},{\"name\":\"kv.put\"},{\"name\":\"kv.delete\"},"
    "{\"name\":\"http.request\"},{\"name\":\"events.publish\"},{\"name\":\"fail\"}],"
    "\"capabilities\":[\"fs\",\"kv\",\"http\",\"events\"],"
    "\"publishes\":[\"onex.evt.test.proxied.v1\"]}")

  (global $NAME_FAIL i32 (i32.const 0x0c00))
  (data (i32.const 0x0c00) "fail")
  (global $ERR_FAIL i32 (i32.const 0x0c10))
  (global $ERR_FAIL_LEN i32 (i32.const 71))
  (data (i32.const 0x0c10)
    "{\"code\":\"unavailable\",\"message\":\"proxy: told to fail\",\"retryable\":true}")

  (global $HEAP_BASE i32 (i32.const 0x1000))
  (global $buf_end (mut i32) (i32.const 0x1008))

  ;; $ensure grows memory to at least $end bytes; 1 on success, 0 on failure.
  (func $ensure (param $end i32) (result i32)
    (local $need i32)
    (local.set $need (i32.shr_u (i32.add (local.get $end) (i32.const 0xffff)) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $need) (memory.size))) (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 1))

  (func $finish (param $ret i32) (param $ptr i32) (param $len i32) (param $status i32) (result i32)
    (i32.store offset=0 (local.get $ret) (local.get $ptr))
    (i32.store offset=4 (local.get $ret) (local.get $len))
    (local.get $status))

  (func (export "onex_abi_v1"))

  (func (export "onex_alloc") (param $size i32) (result i32)
    (if (i32.lt_u (local.get $size) (i32.const 8)) (then (local.set $size (i32.const 8))))
    (if (i32.eqz (call $ensure (i32.add (global.get $HEAP_BASE) (local.get $size))))
      (then (return (i32.const 0))))
    (global.set $buf_end (i32.add (global.get $HEAP_BASE) (local.get $size)))
    (global.get $HEAP_BASE))

  (func (export "onex_manifest") (param $ret i32) (result i32)
    (call $finish (local.get $ret) (global.get $MANIFEST) (global.get $MANIFEST_LEN) (i32.const 0)))

  (func (export "onex_effect") (param $ptr i32) (param $type_len i32) (param $data_len i32) (result i32)
    (local $status i32)
    (local $len_ptr i32) ;; where call writes the register's length
    (local $len i32)
    (local $out i32)
    ;; "fail": nothing done, status 9.
    (if (i32.and (i32.eq (local.get $type_len) (i32.const 4))
                 (i32.eq (i32.load (local.get $ptr)) (i32.load (global.get $NAME_FAIL))))
      (then (return (call $finish (local.get $ptr)
              (global.get $ERR_FAIL) (global.get $ERR_FAIL_LEN) (i32.const 9)))))
    ;; The length slot and the output go past the host's buffer, 8-byte aligned.
    (local.set $len_ptr (i32.and (i32.add (global.get $buf_end) (i32.const 7)) (i32.const -8)))
    (local.set $out (i32.add (local.get $len_ptr) (i32.const 8)))
    (if (i32.eqz (call $ensure (local.get $out))) (then (unreachable)))
    (local.set $status
      (call $call (local.get $ptr) (local.get $type_len)
                  (i32.add (local.get $ptr) (local.get $type_len)) (local.get $data_len)
                  (local.get $len_ptr)))
    (local.set $len (i32.load (local.get $len_ptr)))
    (if (i32.eqz (call $ensure (i32.add (local.get $out) (local.get $len)))) (then (unreachable)))
    (drop (call $result (local.get $out) (local.get $len)))
    (call $finish (local.get $ptr) (local.get $out) (local.get $len) (local.get $status)))
)
