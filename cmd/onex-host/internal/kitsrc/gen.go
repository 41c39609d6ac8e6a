//go:build ignore

// gen copies the sources a generated plugin project needs from this repository into
// _src (run by go generate in this directory): abi's and sdk's Go files without their
// tests, the C header and the Rust crate. kitsrc_test.go fails when the copy is stale.
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/onexhost/onex-host/cmd/onex-host/internal/kitsrc/collect"
)

func main() {
	root, err := filepath.Abs("../../../..")
	if err != nil {
		log.Fatal(err)
	}
	files, err := collect.Files(root)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.RemoveAll("_src"); err != nil {
		log.Fatal(err)
	}
	for name, b := range files {
		dst := filepath.Join("_src", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
