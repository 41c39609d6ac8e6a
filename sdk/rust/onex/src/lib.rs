//! Write an onex-host plugin in Rust, per `abi/SPEC.md` (native ABI, version 1).
//!
//! No dependencies: build with `rustc` alone (Debian: `apt-get install rustc
//! libstd-rust-dev-wasm32`) or with cargo, for `wasm32-unknown-unknown`:
//!
//! ```sh
//! rustc --edition 2021 -O --target wasm32-unknown-unknown --crate-type rlib --crate-name onex -o libonex.rlib onex/src/lib.rs
//! rustc --edition 2021 -O --target wasm32-unknown-unknown --crate-type cdylib --extern onex=libonex.rlib -o greet.wasm src/lib.rs
//! ```
//!
//! A plugin is a `cdylib` that calls [`plugin!`] once with its manifest (JSON, section 5)
//! and its handler; the macro defines the exports (`onex_abi_v1`, `onex_alloc`,
//! `onex_manifest` and `onex_compute` or `onex_effect`). A handler gets the computation's
//! (or effect type's) name and the input JSON and returns the result JSON or an [`Error`]:
//!
//! ```ignore
//! onex::plugin!(compute, MANIFEST, greet);
//! fn greet(name: &str, data: &[u8]) -> Result<Vec<u8>, onex::Error> { ... }
//! ```
//!
//! A computation in the manifest may declare its input's JSON Schema (`input_schema`): the
//! host checks every input against it before the handler runs, and refuses one that does
//! not match with `invalid_input` and the JSON path (see `example/src/lib.rs`).
//!
//! [`json_string`] reads a string field of the input, [`json_quote`] writes one, [`log`]
//! writes to the host's log and [`call`] performs a capability operation (effect nodes).

use std::cell::RefCell;

/// Status codes (SPEC.md section 3).
pub mod status {
    pub const OK: i32 = 0;
    pub const ERROR: i32 = 1;
    pub const UNKNOWN_COMPUTATION: i32 = 2;
    pub const INVALID_INPUT: i32 = 3;
    pub const PANIC: i32 = 4;
    pub const OUT_OF_BOUNDS: i32 = 5;
    pub const DENIED: i32 = 6;
    pub const NOT_FOUND: i32 = 7;
    pub const TOO_LARGE: i32 = 8;
    pub const UNAVAILABLE: i32 = 9;
    pub const TIMEOUT: i32 = 10;
    pub const UNSUPPORTED: i32 = 11;
    pub const INTERNAL: i32 = 12;

    /// The code name of a status, as error payloads spell it.
    pub fn name(status: i32) -> &'static str {
        match status {
            OK => "ok",
            ERROR => "error",
            UNKNOWN_COMPUTATION => "unknown_computation",
            INVALID_INPUT => "invalid_input",
            PANIC => "panic",
            OUT_OF_BOUNDS => "out_of_bounds",
            DENIED => "denied",
            NOT_FOUND => "not_found",
            TOO_LARGE => "too_large",
            UNAVAILABLE => "unavailable",
            TIMEOUT => "timeout",
            UNSUPPORTED => "unsupported",
            _ => "internal",
        }
    }
}

/// Log levels of [`log`] (Go's log/slog levels).
pub mod level {
    pub const DEBUG: i32 = -4;
    pub const INFO: i32 = 0;
    pub const WARN: i32 = 4;
    pub const ERROR: i32 = 8;
}

/// A handler's failure: a non-zero status and the error payload's message.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub status: i32,
    pub message: String,
}

impl Error {
    pub fn new(status: i32, message: impl Into<String>) -> Error {
        Error { status, message: message.into() }
    }

    /// The error payload: `{"code": <the status's name>, "message": ...}`.
    pub fn payload(&self) -> Vec<u8> {
        format!("{{\"code\":{},\"message\":{}}}", json_quote(status::name(self.status)), json_quote(&self.message)).into_bytes()
    }
}

/// A handler: the name and the input JSON in, the result JSON or an error out.
pub type Handler = fn(name: &str, data: &[u8]) -> Result<Vec<u8>, Error>;

mod host {
    #[cfg(target_arch = "wasm32")]
    #[link(wasm_import_module = "onex")]
    extern "C" {
        #[link_name = "log"]
        pub fn log(level: i32, ptr: *const u8, len: u32) -> i32;
        #[link_name = "call"]
        pub fn call(op: *const u8, op_len: u32, req: *const u8, req_len: u32, ret_len: *mut u32) -> i32;
        #[link_name = "result"]
        pub fn result(dst: *mut u8, dst_len: u32) -> i32;
        #[link_name = "config"]
        pub fn config(key: *const u8, key_len: u32, ret_len: *mut u32) -> i32;
    }

    // Natively (cargo test) there is no host: logs go to stderr, calls are unsupported.
    #[cfg(not(target_arch = "wasm32"))]
    pub unsafe fn log(_level: i32, ptr: *const u8, len: u32) -> i32 {
        eprintln!("{}", String::from_utf8_lossy(std::slice::from_raw_parts(ptr, len as usize)));
        0
    }
    #[cfg(not(target_arch = "wasm32"))]
    pub unsafe fn call(_: *const u8, _: u32, _: *const u8, _: u32, ret_len: *mut u32) -> i32 {
        *ret_len = 0;
        super::status::UNSUPPORTED
    }
    #[cfg(not(target_arch = "wasm32"))]
    pub unsafe fn result(_: *mut u8, _: u32) -> i32 {
        0
    }
    #[cfg(not(target_arch = "wasm32"))]
    pub unsafe fn config(_: *const u8, _: u32, ret_len: *mut u32) -> i32 {
        *ret_len = 0;
        super::status::NOT_FOUND
    }
}

/// The value of the node's config key (declared in the manifest's `config`), or `None`
/// when it has none or is not declared. Any node kind. Natively (cargo test) there is no
/// host: always `None`. A secret's value must not be logged or returned.
pub fn config(key: &str) -> Option<String> {
    let mut n: u32 = 0;
    if unsafe { host::config(key.as_ptr(), key.len() as u32, &mut n) } != status::OK {
        return None;
    }
    let mut buf = vec![0u8; n as usize];
    if n > 0 && unsafe { host::result(buf.as_mut_ptr(), n) } != status::OK {
        return None;
    }
    String::from_utf8(buf).ok()
}

/// Writes msg to the host's log at a [`level`].
pub fn log(level: i32, msg: &str) {
    unsafe { host::log(level, msg.as_ptr(), msg.len() as u32) };
}

/// Performs the capability operation `op` (`fs.write`, `kv.get`, ...: SPEC.md section 8)
/// with the JSON request `req`: the response JSON, or the status and the host's error
/// payload. Effect nodes only; a compute node gets `unsupported`.
pub fn call(op: &str, req: &[u8]) -> Result<Vec<u8>, (i32, Vec<u8>)> {
    let mut n: u32 = 0;
    let st = unsafe { host::call(op.as_ptr(), op.len() as u32, req.as_ptr(), req.len() as u32, &mut n) };
    let mut buf = vec![0u8; n as usize];
    let rs = unsafe { host::result(buf.as_mut_ptr(), n) };
    if rs != status::OK {
        return Err((rs, Vec::new()));
    }
    if st == status::OK {
        Ok(buf)
    } else {
        Err((st, buf))
    }
}

/// `s` as a quoted JSON string.
pub fn json_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

// The index just past the JSON value at s[i] (structure only), or None if malformed.
fn skip(s: &[u8], mut i: usize) -> Option<usize> {
    match *s.get(i)? {
        b'"' => {
            i += 1;
            while i < s.len() {
                match s[i] {
                    b'\\' => i += 2,
                    b'"' => return Some(i + 1),
                    _ => i += 1,
                }
            }
            None
        }
        b'{' | b'[' => {
            let mut depth = 0usize;
            while i < s.len() {
                match s[i] {
                    b'"' => {
                        i = skip(s, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            while i < s.len() && !matches!(s[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                i += 1;
            }
            Some(i)
        }
    }
}

fn unquote(s: &[u8]) -> Option<String> {
    let mut out: Vec<u8> = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let e = *s.get(i)?;
        i += 1;
        match e {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'u' => {
                let hex = std::str::from_utf8(s.get(i..i + 4)?).ok()?;
                let mut cp = u32::from_str_radix(hex, 16).ok()?;
                i += 4;
                if (0xd800..0xdc00).contains(&cp) && s.get(i) == Some(&b'\\') && s.get(i + 1) == Some(&b'u') {
                    let lo = u32::from_str_radix(std::str::from_utf8(s.get(i + 2..i + 6)?).ok()?, 16).ok()?;
                    if (0xdc00..0xe000).contains(&lo) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        i += 6;
                    }
                }
                let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).ok()
}

/// The string field `key` of the JSON object `data`, unescaped; None when data is not an
/// object, has no such field or the field is not a string.
pub fn json_string(data: &[u8], key: &str) -> Option<String> {
    let mut i = ws(data, 0);
    if data.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(data, i + 1);
    while data.get(i) == Some(&b'"') {
        let kend = skip(data, i)?;
        let k = unquote(&data[i + 1..kend - 1])?;
        i = ws(data, kend);
        if data.get(i) != Some(&b':') {
            return None;
        }
        i = ws(data, i + 1);
        let vend = skip(data, i)?;
        if k == key {
            if data.get(i) != Some(&b'"') {
                return None;
            }
            return unquote(&data[i + 1..vend - 1]);
        }
        i = ws(data, vend);
        if data.get(i) == Some(&b',') {
            i = ws(data, i + 1);
        }
    }
    None
}

thread_local! {
    // The host's buffer (onex_alloc) and the last output: both live until the next call.
    static HOST_BUF: RefCell<Vec<u8>> = RefCell::new(Vec::new());
    static OUTPUT: RefCell<Vec<u8>> = RefCell::new(Vec::new());
}

/// The body of the `onex_alloc` export; [`plugin!`] defines the export.
pub fn alloc(size: u32) -> *mut u8 {
    HOST_BUF.with(|b| {
        let mut b = b.borrow_mut();
        *b = vec![0u8; (size as usize).max(8)];
        b.as_mut_ptr()
    })
}

fn write_return_area(ret: *mut u8, out: Vec<u8>) {
    OUTPUT.with(|o| {
        let mut o = o.borrow_mut();
        *o = out;
        let ptr = if o.is_empty() { 0 } else { o.as_ptr() as usize as u32 };
        let mut area = [0u8; 8];
        area[..4].copy_from_slice(&ptr.to_le_bytes());
        area[4..].copy_from_slice(&(o.len() as u32).to_le_bytes());
        unsafe { std::ptr::copy_nonoverlapping(area.as_ptr(), ret, 8) };
    })
}

/// The body of `onex_manifest`.
pub fn manifest(ret: *mut u8, manifest: &str) -> i32 {
    write_return_area(ret, manifest.as_bytes().to_vec());
    status::OK
}

/// The body of `onex_compute` and `onex_effect`: copies the name and the data out of the
/// host's buffer, runs h and writes the return area.
pub fn entry(h: Handler, ptr: *mut u8, name_len: u32, data_len: u32) -> i32 {
    let input = unsafe { std::slice::from_raw_parts(ptr, (name_len + data_len) as usize) }.to_vec();
    let (name, data) = input.split_at(name_len as usize);
    let name = match std::str::from_utf8(name) {
        Ok(n) => n,
        Err(_) => {
            let e = Error::new(status::INVALID_INPUT, "the name is not UTF-8");
            write_return_area(ptr, e.payload());
            return e.status;
        }
    };
    match h(name, data) {
        Ok(out) => {
            write_return_area(ptr, out);
            status::OK
        }
        Err(e) => {
            let st = if e.status == status::OK { status::ERROR } else { e.status };
            write_return_area(ptr, e.payload());
            st
        }
    }
}

/// Defines the plugin's exports: `plugin!(compute, MANIFEST, handler)` or
/// `plugin!(effect, MANIFEST, handler)`, with MANIFEST the manifest's JSON (`&str`) and
/// handler a [`Handler`]. Call it once, in the cdylib's root.
#[macro_export]
macro_rules! plugin {
    ($kind:ident, $manifest:expr, $handler:path) => {
        #[export_name = "onex_abi_v1"]
        pub extern "C" fn __onex_abi_v1() {}

        #[export_name = "onex_alloc"]
        pub extern "C" fn __onex_alloc(size: u32) -> *mut u8 {
            $crate::alloc(size)
        }

        #[export_name = "onex_manifest"]
        pub extern "C" fn __onex_manifest(ret: *mut u8) -> i32 {
            $crate::manifest(ret, $manifest)
        }

        $crate::plugin!(@entry $kind, $handler);
    };
    (@entry compute, $handler:path) => {
        #[export_name = "onex_compute"]
        pub extern "C" fn __onex_compute(ptr: *mut u8, name_len: u32, data_len: u32) -> i32 {
            $crate::entry($handler, ptr, name_len, data_len)
        }
    };
    (@entry effect, $handler:path) => {
        #[export_name = "onex_effect"]
        pub extern "C" fn __onex_effect(ptr: *mut u8, name_len: u32, data_len: u32) -> i32 {
            $crate::entry($handler, ptr, name_len, data_len)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_strings() {
        let data = br#"{"x": [1, {"a": "}"}], "name": "w\"o\u00e9\ud83d\ude00", "n": 3}"#;
        assert_eq!(json_string(data, "name").as_deref(), Some("w\"o\u{e9}\u{1f600}"));
        assert_eq!(json_string(data, "n"), None);
        assert_eq!(json_string(data, "missing"), None);
        assert_eq!(json_string(b"[1]", "name"), None);
        assert_eq!(json_quote("a\"b\\\n\u{1}"), "\"a\\\"b\\\\\\n\\u0001\"");
    }
}
