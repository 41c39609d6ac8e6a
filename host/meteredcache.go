package host

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/onexhost/onex-host/host/internal/meter"
)

// The instrumented module, cached.
//
// wazero's compilation cache is keyed by the bytes it compiles, so a metered plugin must
// be instrumented (host/internal/meter) before the cache can even be asked: for a
// standard-Go plugin that rewrite was a third of a warm `onex-host run` (≈ 0.2 s of
// CPU, BENCHMARKS.md, issue 23). So the instrumented bytes of a large module are kept in the compilation
// cache directory too, under meteredDir, named by the original module's digest and the
// instrumentation's version, and a later load — in this process or another — reads them
// instead of rewriting. The file is the module's SHA-256 followed by the module, written
// to a temporary file and renamed; one that does not match its hash (a torn or damaged
// file) is ignored and rewritten. Being in the cache directory, the files are counted in
// its size limit and evicted with the compiled code (compcache: a file written during a
// tracked compilation is that compilation's).

// meteredCacheMin is the smallest module whose instrumented bytes are cached: rewriting
// costs ≈ 40 ms per MB, so below this (≈ 10 ms) a file to read, hash and count in the
// cache's size would cost about what it saves.
var meteredCacheMin = 256 << 10 // a variable for its test

// meteredDir is the directory under the cache root that holds instrumented modules.
var meteredDir = fmt.Sprintf("onex-metered-v%d", meter.Version)

// meteredCode returns wasm, whose digest is digest, instrumented for metered execution:
// from the disk cache when it holds it, else rewritten (and stored there, best effort,
// for modules of meteredCacheMin bytes or more). Errors are the instrumentation's: the
// module is malformed.
func (h *Host) meteredCode(digest string, wasm []byte) ([]byte, error) {
	if h.disk == nil || len(wasm) < meteredCacheMin {
		code, _, err := meter.Instrument(wasm, meter.Options{})
		return code, err
	}
	name := sha256.Sum256([]byte(digest))
	path := filepath.Join(h.disk.Root(), meteredDir, hex.EncodeToString(name[:])+".wasm")
	if code, ok := readSealed(path); ok {
		return code, nil
	}
	code, _, err := meter.Instrument(wasm, meter.Options{})
	if err != nil {
		return nil, err
	}
	if err := writeSealed(path, code); err != nil {
		h.cfg.Logger.Debug("compilation cache: instrumented module not stored", "path", path, "err", err)
	}
	return code, nil
}

// readSealed returns the module in the file at path when the file is there and whole.
func readSealed(path string) ([]byte, bool) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < sha256.Size {
		return nil, false
	}
	sum := sha256.Sum256(b[sha256.Size:])
	if !bytes.Equal(sum[:], b[:sha256.Size]) {
		return nil, false
	}
	return b[sha256.Size:], true
}

// writeSealed writes code's SHA-256 and code to path, atomically: a reader sees the
// whole file or none.
func writeSealed(path string, code []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	sum := sha256.Sum256(code)
	_, err = f.Write(sum[:])
	if err == nil {
		_, err = f.Write(code)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}
