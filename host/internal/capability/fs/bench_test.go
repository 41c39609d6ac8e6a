package fs_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/internal/capability/fs"
)

func BenchmarkRoots_Write(b *testing.B) {
	dir := b.TempDir()
	rs := newRoots(b, fs.Config{Grants: []fs.Grant{{Dir: dir}}})
	data := bytes.Repeat([]byte{'x'}, 4<<10)
	b.Run("4KiB", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if err := rs.Write(nil, "bench", data, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("4KiB in a transaction", func(b *testing.B) {
		m := newManager(b, nil)
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			t := begin(b, m)
			if err := rs.Write(t, "bench", data, 0); err != nil {
				b.Fatal(err)
			}
			if _, err := t.Commit(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRoots_Read(b *testing.B) {
	dir := b.TempDir()
	rs := newRoots(b, fs.Config{Grants: []fs.Grant{{Dir: dir}}})
	data := bytes.Repeat([]byte{'x'}, 4<<10)
	require.NoError(b, rs.Write(nil, "bench", data, 0))
	b.Run("4KiB", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			got, err := rs.Read("bench", 0)
			if err != nil || len(got) != len(data) {
				b.Fatal(len(got), err)
			}
		}
	})
}
