package kv

import (
	"context"
	"fmt"
	"testing"
)

// benchKeys are the 1,000 keys the benchmarks cycle through; benchValue is
// the size of a typical small record a node keeps.
var (
	benchKeys = func() (ks []string) {
		for i := range 1000 {
			ks = append(ks, fmt.Sprintf("key/%04d", i))
		}
		return ks
	}()
	benchValue = make([]byte, 256)
)

var benchBackends = []struct {
	name string
	cfg  Config
	open opener
}{
	{"memory", Config{}, openMemory},
	{"bolt", Config{}, openBolt},
	{"bolt-nosync", Config{NoSync: true}, openBolt},
}

// benchStore returns a Store holding every benchKey.
func benchStore(b *testing.B, open opener, cfg Config) Store {
	b.Helper()
	s := ns(b, open(b, cfg), "node")
	for _, k := range benchKeys {
		if err := s.Put(context.Background(), k, benchValue); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkStore_Put overwrites one of 1,000 keys with a 256-byte value.
func BenchmarkStore_Put(b *testing.B) {
	for _, bb := range benchBackends {
		b.Run(bb.name, func(b *testing.B) {
			s := ns(b, bb.open(b, bb.cfg), "node")
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := s.Put(ctx, benchKeys[i%len(benchKeys)], benchValue); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkStore_Get reads one of 1,000 present keys (whether writes are
// synced makes no difference to reads, so bolt-nosync is left out).
func BenchmarkStore_Get(b *testing.B) {
	for _, bb := range benchBackends[:2] {
		b.Run(bb.name, func(b *testing.B) {
			s := benchStore(b, bb.open, Config{NoSync: true})
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, found, err := s.Get(ctx, benchKeys[i%len(benchKeys)]); !found || err != nil {
					b.Fatal("want a hit", err)
				}
				i++
			}
		})
	}
}

// BenchmarkStore_GetParallel reads from every available core at once.
func BenchmarkStore_GetParallel(b *testing.B) {
	for _, bb := range benchBackends[:2] {
		b.Run(bb.name, func(b *testing.B) {
			s := benchStore(b, bb.open, Config{NoSync: true})
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, found, err := s.Get(ctx, benchKeys[i%len(benchKeys)]); !found || err != nil {
						b.Error("want a hit", err)
						return
					}
					i++
				}
			})
		})
	}
}

// BenchmarkWithTx_Put overwrites keys through a transaction, which reads the
// before-image and logs an operation per write; a fresh transaction is begun
// every 1,000 writes so the log stays short.
func BenchmarkWithTx_Put(b *testing.B) {
	for _, bb := range benchBackends {
		b.Run(bb.name, func(b *testing.B) {
			db := bb.open(b, bb.cfg)
			s := ns(b, db, "node")
			m := newManager(b, db, nil)
			ctx := context.Background()
			var w Store
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i%len(benchKeys) == 0 {
					txn, err := m.Begin("node", 1, "")
					if err != nil {
						b.Fatal(err)
					}
					w = WithTx(s, txn)
				}
				if err := w.Put(ctx, benchKeys[i%len(benchKeys)], benchValue); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
