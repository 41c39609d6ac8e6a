package httpcap

import (
	"context"
	"testing"

	"github.com/onexhost/onex-host/abi"
)

// BenchmarkClient_Do measures one granted GET of a 2-byte body against a
// loopback httptest server, connections reused: the host's overhead on top
// of net/http.
func BenchmarkClient_Do(b *testing.B) {
	p := newPair(b, Config{}, nil)
	ctx := context.Background()
	req := abi.HTTPRequest{URL: "http://api.example.com/x"}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.c.Do(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := p.c.Do(ctx, req); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("denied", func(b *testing.B) {
		b.ReportAllocs()
		denied := abi.HTTPRequest{URL: "http://evil.example.org/x"}
		for b.Loop() {
			if _, err := p.c.Do(ctx, denied); err == nil {
				b.Fatal("not denied")
			}
		}
	})
}
