// Package kitsrc gives `onex-host new` the sources a generated plugin project builds
// against: onex-host's abi and sdk packages (Go, without their tests), the C header
// sdk/c/onex.h and the Rust crate sdk/rust/onex. onex-host is not on the Go module proxy,
// so a Go project outside a checkout gets these as a local module. They are embedded in
// the binary by the abi and sdk packages themselves (abi.Source, sdk.Source), so there is
// no copy to keep in step.
package kitsrc

import (
	"embed"
	"io/fs"
	"path"
	"strings"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

// Files returns the files by slash-separated path relative to the repository's root
// (abi/doc.go, sdk/c/onex.h, …).
func Files() map[string][]byte {
	out := map[string][]byte{}
	add(out, "abi", abi.Source)
	add(out, "sdk", sdk.Source)
	return out
}

// add puts every file of src under dir into out, except Go tests.
func add(out map[string][]byte, dir string, src embed.FS) {
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := src.ReadFile(p)
		out[path.Join(dir, p)] = b
		return err
	})
	if err != nil {
		panic(err) // an embed.FS walk fails only on a bug of this package
	}
}

// Under returns the files of Files whose path starts with prefix+"/", keyed by the
// rest of their path.
func Under(prefix string) map[string][]byte {
	out := map[string][]byte{}
	for p, b := range Files() {
		if rest, ok := strings.CutPrefix(p, prefix+"/"); ok {
			out[rest] = b
		}
	}
	return out
}
