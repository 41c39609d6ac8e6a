// Command onex-host runs ONEX node plugins (WebAssembly modules) from the command line.
// See README.md at the repository root, or run `onex-host --help`.
package main

import "os"

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
