package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestKeyOf(t *testing.T) {
	base := KeyOf("sha256:aa", "sum_numbers", []byte("[1,2]"))
	tests := []struct {
		name  string
		other Key
	}{
		{name: "digest differs", other: KeyOf("sha256:ab", "sum_numbers", []byte("[1,2]"))},
		{name: "computation differs", other: KeyOf("sha256:aa", "sum_number", []byte("[1,2]"))},
		{name: "input differs", other: KeyOf("sha256:aa", "sum_numbers", []byte("[1,3]"))},
		{name: "boundary between digest and computation moves", other: KeyOf("sha256:aas", "um_numbers", []byte("[1,2]"))},
		{name: "computation bytes move into the input", other: KeyOf("sha256:aa", "sum_number", []byte("s[1,2]"))},
		{name: "nil input versus empty digest", other: KeyOf("", "sha256:aasum_numbers", []byte("[1,2]"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.NotEqual(t, base, tt.other)
		})
	}

	t.Run("deterministic and independent of the input slice", func(t *testing.T) {
		in := []byte("[1,2]")
		k := KeyOf("sha256:aa", "sum_numbers", in)
		in[0] = 'x'
		assert.Equal(t, base, k)
	})
	t.Run("nil and empty input are the same input", func(t *testing.T) {
		assert.Equal(t, KeyOf("d", "c", nil), KeyOf("d", "c", []byte{}))
	})
	t.Run("matches the documented encoding", func(t *testing.T) {
		digest, comp, input := strings.Repeat("d", 300), "c", []byte("in")
		in := sha256.Sum256(input)
		var b []byte
		b = append(b, keyDomain...)
		b = binary.BigEndian.AppendUint64(b, uint64(len(digest)))
		b = append(b, digest...)
		b = binary.BigEndian.AppendUint64(b, uint64(len(comp)))
		b = append(b, comp...)
		b = append(b, in[:]...)
		assert.Equal(t, Key(sha256.Sum256(b)), KeyOf(digest, comp, input))
	})
	t.Run("no allocation for ordinary digests", func(t *testing.T) {
		digest := "sha256:" + strings.Repeat("ab", 32)
		input := make([]byte, 1024)
		allocs := testing.AllocsPerRun(100, func() { _ = KeyOf(digest, "string_uppercase", input) })
		assert.Zero(t, allocs)
	})
}

func TestKey_String(t *testing.T) {
	var k Key
	k[0], k[31] = 0xab, 0x01
	assert.Equal(t, "ab"+strings.Repeat("00", 30)+"01", k.String())
}
