package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// Key identifies a cached result. It is the SHA-256 of what the result depends
// on; build it with [KeyOf]. The zero Key is a valid key like any other.
type Key [sha256.Size]byte

// keyDomain starts every hashed key encoding, so that keys of a later layout
// (v2) can never equal keys of this one.
const keyDomain = "onex-host/cache/key/v1\x00"

// keyBufSize is the stack buffer KeyOf encodes into. Digests ("sha256:" and 64
// hex digits) and computation names fit with room to spare; longer ones make
// the encoding spill to the heap, which costs one allocation and is still
// correct.
const keyBufSize = 256

// KeyOf returns the key of computation applied to input by the plugin build
// identified by digest.
//
// The key is SHA-256 over an unambiguous encoding: a domain prefix, then
// digest and computation each preceded by its length as a big-endian uint64,
// then SHA-256(input). Because of the lengths, no two different
// (digest, computation) pairs encode alike, however their bytes are split, and
// because the digest is part of the key, a new plugin build never shares keys
// with an old one.
//
// KeyOf does not retain input. It allocates nothing while len(digest) +
// len(computation) stays under about 180 bytes.
func KeyOf(digest, computation string, input []byte) Key {
	in := sha256.Sum256(input)
	var buf [keyBufSize]byte
	b := append(buf[:0], keyDomain...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(digest)))
	b = append(b, digest...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(computation)))
	b = append(b, computation...)
	b = append(b, in[:]...)
	return sha256.Sum256(b)
}

// String returns the key in lowercase hex, for logs and error messages.
func (k Key) String() string {
	return hex.EncodeToString(k[:])
}

// ParseKey is the inverse of Key.String: it reads a key from its 64 hex digits.
func ParseKey(s string) (Key, error) {
	var k Key
	if hex.DecodedLen(len(s)) != len(k) {
		return k, fmt.Errorf("cache: a key is %d hex digits, not %d", 2*len(k), len(s))
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return k, fmt.Errorf("cache: key %q: %w", s, err)
	}
	return k, nil
}
