package meter

import (
	"testing"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// BenchmarkInstrument instruments the core plugin, a standard-Go module of a few MB
// (built on first use, then cached); the MB/s column is the rewriter's throughput.
func BenchmarkInstrument(b *testing.B) {
	path, err := plugintest.Path("plugins/core")
	if err != nil {
		b.Fatal(err)
	}
	wasm := readFile(b, path)
	b.SetBytes(int64(len(wasm)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Instrument(wasm, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
