package breaker

import (
	"context"
	"testing"
)

func benchBreaker(b *testing.B) *Breaker {
	b.Helper()
	r, err := NewRegistry(Config{})
	if err != nil {
		b.Fatal(err)
	}
	return r.Get("http:api.example.com")
}

// BenchmarkBreakerDo measures an admitted no-op call through a closed
// breaker: the lock-free admission plus recording the success.
func BenchmarkBreakerDo(b *testing.B) {
	br := benchBreaker(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := br.Do(ctx, succeed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBreakerDoParallel is BenchmarkBreakerDo from GOMAXPROCS
// goroutines sharing one breaker.
func BenchmarkBreakerDoParallel(b *testing.B) {
	br := benchBreaker(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := br.Do(ctx, succeed); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkBreakerRejected measures a call rejected by an open breaker.
func BenchmarkBreakerRejected(b *testing.B) {
	br := benchBreaker(b)
	br.ForceOpen()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := br.Do(ctx, succeed); err == nil {
			b.Fatal("want a rejection")
		}
	}
}

// BenchmarkRegistryGetParallel measures looking up an existing breaker.
func BenchmarkRegistryGetParallel(b *testing.B) {
	r, err := NewRegistry(Config{})
	if err != nil {
		b.Fatal(err)
	}
	r.Get("kv")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r.Get("kv") == nil {
				b.Error("nil breaker")
				return
			}
		}
	})
}
