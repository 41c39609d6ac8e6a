/*
 * onex.h: write an onex-host plugin in C, per abi/SPEC.md (native ABI, version 1).
 *
 * A single header with no dependencies, not even libc. Include it in exactly one .c file
 * of the plugin (it defines the plugin's exports) after defining:
 *
 *   ONEX_MANIFEST  the node manifest, a string literal of JSON (SPEC.md section 5); a
 *                  computation's "input_schema" (a JSON Schema) is checked by the host
 *                  against every input before your handler runs (see example/greet.c);
 *   ONEX_COMPUTE   for a compute node: you define onex_on_compute (below), and the
 *                  header exports onex_compute; or
 *   ONEX_EFFECT    for an effect node: you define onex_on_effect, exported as onex_effect.
 *
 * Build (Debian: apt-get install clang lld):
 *
 *   clang --target=wasm32 -O2 -ffreestanding -nostdlib -Wl,--no-entry -o x.wasm x.c
 *
 * The header provides:
 *
 *   - the exports onex_abi_v1, onex_alloc, onex_manifest and the entry export, which
 *     copies the name and the data out of the host's buffer (so the return area may be
 *     written over them), calls your handler and writes the return area;
 *   - an arena allocator, onex_malloc: everything it returns lives until the next call
 *     into the plugin, so there is nothing to free;
 *   - onex_buf, an output buffer with JSON string escaping, and onex_error for error
 *     payloads;
 *   - onex_json_string, reading one string field of a JSON object;
 *   - the host functions: onex_log, onex_config (the node's config values), and onex_call
 *     (effect nodes' capabilities: fs.write, kv.get, ...) which returns the response in
 *     the arena;
 *   - memcpy, memset and memmove, which the compiler may call (define ONEX_HAVE_LIBC to
 *     leave them to a libc such as wasi-libc).
 */
#ifndef ONEX_H
#define ONEX_H

#include <stddef.h>
#include <stdint.h>

/* Status codes (SPEC.md section 3). */
enum {
	ONEX_OK = 0,
	ONEX_ERROR = 1,
	ONEX_UNKNOWN_COMPUTATION = 2,
	ONEX_INVALID_INPUT = 3,
	ONEX_PANIC = 4,
	ONEX_OUT_OF_BOUNDS = 5,
	ONEX_DENIED = 6,
	ONEX_NOT_FOUND = 7,
	ONEX_TOO_LARGE = 8,
	ONEX_UNAVAILABLE = 9,
	ONEX_TIMEOUT = 10,
	ONEX_UNSUPPORTED = 11,
	ONEX_INTERNAL = 12
};

/* Log levels of onex_log (log/slog's). */
enum { ONEX_DEBUG = -4, ONEX_INFO = 0, ONEX_WARN = 4, ONEX_ERROR_LEVEL = 8 };

#define ONEX_EXPORT(name) __attribute__((export_name(name)))
#define ONEX_IMPORT(name) __attribute__((import_module("onex"), import_name(name)))
/* Every helper is static: unused ones cost nothing and warn about nothing. */
#define ONEX_API static __attribute__((unused))

/* The host functions (SPEC.md section 4), raw. */
ONEX_IMPORT("log") int32_t onex_host_log(int32_t level, const char *msg, uint32_t msg_len);
ONEX_IMPORT("call") int32_t onex_host_call(const char *op, uint32_t op_len, const char *req, uint32_t req_len, uint32_t *ret_len);
ONEX_IMPORT("result") int32_t onex_host_result(char *dst, uint32_t dst_len);
ONEX_IMPORT("config") int32_t onex_host_config(const char *key, uint32_t key_len, uint32_t *ret_len);

/* onex_buf is a growable byte buffer in the arena: a handler's output. */
typedef struct {
	char *ptr;
	uint32_t len;
	uint32_t cap;
} onex_buf;

/* The handlers you define: name is the computation's (or effect type's) name,
 * NUL-terminated; data the input JSON (data_len bytes, NUL-terminated; empty for no
 * data). Append the result JSON (or, with a non-zero status, an error payload) to out and
 * return a status. */
#ifdef ONEX_COMPUTE
int32_t onex_on_compute(const char *name, const char *data, uint32_t data_len, onex_buf *out);
#endif
#ifdef ONEX_EFFECT
int32_t onex_on_effect(const char *name, const char *data, uint32_t data_len, onex_buf *out);
#endif

#if !defined(ONEX_MANIFEST)
#error "define ONEX_MANIFEST (the node manifest's JSON, a string literal) before including onex.h"
#endif
#if !defined(ONEX_COMPUTE) && !defined(ONEX_EFFECT)
#error "define ONEX_COMPUTE or ONEX_EFFECT before including onex.h"
#endif

/* ---- memory ---- */

#ifndef ONEX_HAVE_LIBC
/* Named memcpy and memset, these loops are not turned into calls to themselves. */
void *memcpy(void *dst, const void *src, size_t n) {
	unsigned char *d = dst;
	const unsigned char *s = src;
	while (n--) *d++ = *s++;
	return dst;
}
void *memset(void *dst, int c, size_t n) {
	unsigned char *d = dst;
	while (n--) *d++ = (unsigned char)c;
	return dst;
}
void *memmove(void *dst, const void *src, size_t n) {
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (d < s) {
		while (n--) *d++ = *s++;
	} else {
		while (n--) d[n] = s[n];
	}
	return dst;
}
#endif

extern unsigned char __heap_base;
ONEX_API uintptr_t onex__top;     /* next free byte of the arena */
ONEX_API uintptr_t onex__buf_end; /* end of the host's buffer: the arena restarts here */

/* onex_malloc returns n bytes (8-aligned) valid until the next call into the plugin, or
 * NULL when memory cannot grow. */
ONEX_API void *onex_malloc(uint32_t n) {
	if (onex__top == 0) onex__top = onex__buf_end = ((uintptr_t)&__heap_base + 7) & ~(uintptr_t)7;
	uintptr_t p = onex__top;
	uint64_t end = (uint64_t)p + n;
	end = (end + 7) & ~(uint64_t)7;
	if (end > 0xffffffffu) return NULL;
	uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) * 65536;
	if (end > have) {
		uint64_t pages = (end - have + 65535) / 65536;
		if (__builtin_wasm_memory_grow(0, (size_t)pages) == (size_t)-1) return NULL;
	}
	onex__top = (uintptr_t)end;
	return (void *)p;
}

ONEX_EXPORT("onex_abi_v1") void onex_abi_v1(void) {}

/* The host's buffer: the arena restarts at the heap's base, and the buffer's end becomes
 * where every call's own allocations start. */
ONEX_EXPORT("onex_alloc") void *onex_alloc(uint32_t size) {
	onex__top = 0;
	void *p = onex_malloc(size < 8 ? 8 : size);
	if (p != NULL) onex__buf_end = onex__top;
	return p;
}

/* ---- output ---- */

ONEX_API int onex_buf_grow(onex_buf *b, uint32_t more) {
	if ((uint64_t)b->len + more <= b->cap) return 1;
	uint64_t cap = b->cap ? (uint64_t)b->cap * 2 : 256;
	while (cap < (uint64_t)b->len + more) cap *= 2;
	if (cap > 0x7fffffff) return 0;
	char *p = onex_malloc((uint32_t)cap);
	if (p == NULL) return 0;
	if (b->len) memcpy(p, b->ptr, b->len);
	b->ptr = p;
	b->cap = (uint32_t)cap;
	return 1;
}

/* onex_buf_append appends n bytes of s; it returns 0 when memory ran out. */
ONEX_API int onex_buf_append(onex_buf *b, const char *s, uint32_t n) {
	if (!onex_buf_grow(b, n)) return 0;
	memcpy(b->ptr + b->len, s, n);
	b->len += n;
	return 1;
}

ONEX_API uint32_t onex_strlen(const char *s) {
	uint32_t n = 0;
	while (s[n]) n++;
	return n;
}

/* onex_buf_puts appends the NUL-terminated s. */
ONEX_API int onex_buf_puts(onex_buf *b, const char *s) { return onex_buf_append(b, s, onex_strlen(s)); }

/* onex_buf_json_string appends n bytes of s as a quoted JSON string. */
ONEX_API int onex_buf_json_string(onex_buf *b, const char *s, uint32_t n) {
	static const char hex[] = "0123456789abcdef";
	if (!onex_buf_append(b, "\"", 1)) return 0;
	for (uint32_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = {'\\', 0, 0, 0, 0, 0};
		int ok;
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			ok = onex_buf_append(b, esc, 2);
		} else if (c == '\n') {
			ok = onex_buf_append(b, "\\n", 2);
		} else if (c < 0x20) {
			esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
			ok = onex_buf_append(b, esc, 6);
		} else {
			ok = onex_buf_append(b, (const char *)&c, 1);
		}
		if (!ok) return 0;
	}
	return onex_buf_append(b, "\"", 1);
}

/* onex_error replaces out with the error payload {"code": code, "message": message} and
 * returns status, for `return onex_error(out, ONEX_INVALID_INPUT, "invalid_input", "...");`. */
ONEX_API int32_t onex_error(onex_buf *out, int32_t status, const char *code, const char *message) {
	out->len = 0;
	onex_buf_puts(out, "{\"code\":");
	onex_buf_json_string(out, code, onex_strlen(code));
	onex_buf_puts(out, ",\"message\":");
	onex_buf_json_string(out, message, onex_strlen(message));
	onex_buf_puts(out, "}");
	return status;
}

/* ---- input ---- */

ONEX_API uint32_t onex__ws(const char *s, uint32_t n, uint32_t i) {
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
	return i;
}

/* onex__skip returns the index just past the JSON value starting at s[i], or n+1 when it
 * is malformed. Only the structure is checked. */
ONEX_API uint32_t onex__skip(const char *s, uint32_t n, uint32_t i) {
	if (i >= n) return n + 1;
	if (s[i] == '"') {
		for (i++; i < n; i++) {
			if (s[i] == '\\') i++;
			else if (s[i] == '"') return i + 1;
		}
		return n + 1;
	}
	if (s[i] == '{' || s[i] == '[') {
		uint32_t depth = 0;
		for (; i < n; i++) {
			char c = s[i];
			if (c == '"') {
				i = onex__skip(s, n, i);
				if (i > n) return n + 1;
				i--;
			} else if (c == '{' || c == '[') {
				depth++;
			} else if (c == '}' || c == ']') {
				if (--depth == 0) return i + 1;
			}
		}
		return n + 1;
	}
	while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n' && s[i] != '\t' && s[i] != '\r') i++;
	return i;
}

ONEX_API int onex__hex(char c) {
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* onex_json_string finds the string field key of the JSON object data (data_len bytes)
 * and returns its value unescaped and NUL-terminated, in the arena, with its length in
 * *len (may be NULL). It returns NULL when data is not an object, has no such field, or
 * the field is not a string. */
ONEX_API char *onex_json_string(const char *data, uint32_t data_len, const char *key, uint32_t *len) {
	uint32_t n = data_len, klen = onex_strlen(key);
	uint32_t i = onex__ws(data, n, 0);
	if (i >= n || data[i] != '{') return NULL;
	i = onex__ws(data, n, i + 1);
	while (i < n && data[i] == '"') {
		uint32_t kstart = i + 1, kend = onex__skip(data, n, i);
		if (kend > n) return NULL;
		int match = kend - 1 - kstart == klen;
		for (uint32_t k = 0; match && k < klen; k++) match = data[kstart + k] == key[k];
		i = onex__ws(data, n, kend);
		if (i >= n || data[i] != ':') return NULL;
		i = onex__ws(data, n, i + 1);
		uint32_t vend = onex__skip(data, n, i);
		if (vend > n) return NULL;
		if (match) {
			if (data[i] != '"') return NULL;
			char *out = onex_malloc(vend - i);
			if (out == NULL) return NULL;
			uint32_t o = 0;
			for (uint32_t j = i + 1; j < vend - 1; j++) {
				char c = data[j];
				if (c != '\\') {
					out[o++] = c;
					continue;
				}
				c = data[++j];
				switch (c) {
				case 'n': out[o++] = '\n'; break;
				case 't': out[o++] = '\t'; break;
				case 'r': out[o++] = '\r'; break;
				case 'b': out[o++] = '\b'; break;
				case 'f': out[o++] = '\f'; break;
				case 'u': {
					uint32_t cp = 0;
					for (int h = 0; h < 4 && j + 1 < vend - 1; h++) {
						int v = onex__hex(data[++j]);
						if (v < 0) return NULL;
						cp = cp << 4 | (uint32_t)v;
					}
					/* UTF-8 encode (a surrogate pair is kept as two 3-byte sequences). */
					if (cp < 0x80) {
						out[o++] = (char)cp;
					} else if (cp < 0x800) {
						out[o++] = (char)(0xc0 | cp >> 6);
						out[o++] = (char)(0x80 | (cp & 0x3f));
					} else {
						out[o++] = (char)(0xe0 | cp >> 12);
						out[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
						out[o++] = (char)(0x80 | (cp & 0x3f));
					}
					break;
				}
				default: out[o++] = c; /* '"', '\\', '/' */
				}
			}
			out[o] = 0;
			if (len != NULL) *len = o;
			return out;
		}
		i = onex__ws(data, n, vend);
		if (i < n && data[i] == ',') i = onex__ws(data, n, i + 1);
	}
	return NULL;
}

/* ---- host functions ---- */

/* onex_log writes the NUL-terminated msg to the host's log at level (ONEX_INFO, ...). */
ONEX_API void onex_log(int32_t level, const char *msg) { onex_host_log(level, msg, onex_strlen(msg)); }

/* onex_call performs the capability operation op with the JSON request req (req_len
 * bytes) and returns its status; the response (or error payload) is stored in the arena,
 * NUL-terminated, in *resp and *resp_len (either may be NULL). Effect nodes only. */
ONEX_API int32_t onex_call(const char *op, const char *req, uint32_t req_len, char **resp, uint32_t *resp_len) {
	uint32_t n = 0;
	int32_t status = onex_host_call(op, onex_strlen(op), req, req_len, &n);
	char *buf = onex_malloc(n + 1);
	if (buf == NULL) return ONEX_TOO_LARGE;
	int32_t rs = onex_host_result(buf, n);
	if (rs != ONEX_OK) return rs;
	buf[n] = 0;
	if (resp != NULL) *resp = buf;
	if (resp_len != NULL) *resp_len = n;
	return status;
}

/* onex_config returns the value of the node's config key (declared in the manifest's
 * "config"), NUL-terminated in the arena, or NULL when it has none (or is not declared).
 * Any node kind. A secret's value must not be logged or returned. */
ONEX_API const char *onex_config(const char *key) {
	uint32_t n = 0;
	if (onex_host_config(key, onex_strlen(key), &n) != ONEX_OK) return NULL;
	char *buf = onex_malloc(n + 1);
	if (buf == NULL || onex_host_result(buf, n) != ONEX_OK) return NULL;
	buf[n] = 0;
	return buf;
}

/* ---- exports ---- */

ONEX_API void onex__return(uint8_t *ret, const onex_buf *out) {
	uint32_t area[2] = {out->len ? (uint32_t)(uintptr_t)out->ptr : 0, out->len};
	memcpy(ret, area, 8);
}

typedef int32_t (*onex__handler)(const char *, const char *, uint32_t, onex_buf *);

ONEX_API int32_t onex__entry(onex__handler h, uint8_t *ptr, uint32_t name_len, uint32_t data_len) {
	onex__top = onex__buf_end; /* the previous call's allocations are dead */
	onex_buf out = {0, 0, 0};
	char *name = onex_malloc(name_len + 1), *data = onex_malloc(data_len + 1);
	if (name == NULL || data == NULL) return ONEX_TOO_LARGE;
	memcpy(name, ptr, name_len);
	name[name_len] = 0;
	memcpy(data, ptr + name_len, data_len);
	data[data_len] = 0;
	int32_t status = h(name, data, data_len, &out);
	onex__return(ptr, &out);
	return status;
}

ONEX_EXPORT("onex_manifest") int32_t onex_manifest(uint8_t *ret) {
	static const char manifest[] = ONEX_MANIFEST;
	onex_buf out = {(char *)manifest, sizeof manifest - 1, sizeof manifest - 1};
	onex__return(ret, &out);
	return ONEX_OK;
}

#ifdef ONEX_COMPUTE
ONEX_EXPORT("onex_compute") int32_t onex_compute(uint8_t *ptr, uint32_t name_len, uint32_t data_len) {
	return onex__entry(onex_on_compute, ptr, name_len, data_len);
}
#endif
#ifdef ONEX_EFFECT
ONEX_EXPORT("onex_effect") int32_t onex_effect(uint8_t *ptr, uint32_t name_len, uint32_t data_len) {
	return onex__entry(onex_on_effect, ptr, name_len, data_len);
}
#endif

#endif /* ONEX_H */
