// Package collect reads from a checkout of onex-host the files package kitsrc embeds.
// It is apart from kitsrc so that kitsrc's generator can run before kitsrc has any.
package collect

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Files reads from the repository at root the files this package embeds: abi/*.go and
// sdk/*.go except tests, and the files of the C and Rust kits under sdk/c and sdk/rust
// (without their examples).
func Files(root string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, dir := range []string{"abi", "sdk"} {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(root, dir, n))
			if err != nil {
				return nil, err
			}
			out[path.Join(dir, n)] = b
		}
	}
	for _, dir := range []string{"sdk/c", "sdk/rust"} {
		base := filepath.Join(root, filepath.FromSlash(dir))
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if strings.Contains(rel, "/example/") || strings.Contains(rel, "/target/") || strings.HasSuffix(rel, ".wasm") || strings.HasSuffix(rel, ".rlib") {
				return nil // build output
			}
			b, err := os.ReadFile(p)
			out[rel] = b
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
