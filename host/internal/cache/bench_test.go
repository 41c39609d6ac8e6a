package cache

import (
	"context"
	"strings"
	"testing"
	"time"
)

// benchDigest is shaped like a real plugin digest.
var benchDigest = "sha256:" + strings.Repeat("ab", 32)

func benchCache(b *testing.B) (*Cache, []byte, ComputeFunc) {
	b.Helper()
	c := newTestCache(b, Config{})
	input := make([]byte, 1024)
	value := []byte("cached result")
	compute := func(context.Context) ([]byte, time.Duration, error) { return value, 0, nil }
	if _, _, err := c.GetOrCompute(context.Background(), KeyOf(benchDigest, "default", input), compute); err != nil {
		b.Fatal(err)
	}
	return c, input, compute
}

// BenchmarkCache_Hit measures a hit as the host makes it: hashing a 1 KiB
// input into a key, then looking it up.
func BenchmarkCache_Hit(b *testing.B) {
	c, input, compute := benchCache(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, hit, err := c.GetOrCompute(ctx, KeyOf(benchDigest, "default", input), compute); hit != Hit || err != nil {
			b.Fatal("want a hit", err)
		}
	}
}

func BenchmarkCache_HitParallel(b *testing.B) {
	c, input, compute := benchCache(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, hit, err := c.GetOrCompute(ctx, KeyOf(benchDigest, "default", input), compute); hit != Hit || err != nil {
				b.Error("want a hit", err)
				return
			}
		}
	})
}

// BenchmarkKeyOf isolates the hashing part of a hit.
func BenchmarkKeyOf(b *testing.B) {
	input := make([]byte, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(input)))
	for b.Loop() {
		_ = KeyOf(benchDigest, "default", input)
	}
}
