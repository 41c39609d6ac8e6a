package plugintest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// ExtismSDKModule is the module whose test plugins serve as Extism fixtures. It is a
// dependency of onex-host, so `go mod download` has already put its files, including
// plugins built by Extism's own toolchains, in the module cache.
const ExtismSDKModule = "github.com/extism/go-sdk"

var extismDir = sync.OnceValues(func() (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", ExtismSDKModule)
	cmd.Dir = Root()
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("plugintest: locate %s in the module cache (run go mod download): %v", ExtismSDKModule, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("plugintest: %s is not in the module cache (run go mod download)", ExtismSDKModule)
	}
	return dir, nil
})

// ExtismPath returns the path of one of the Extism go-sdk's test plugins, read in place
// from the module cache (never copied into this repository): for example
// "count_vowels.wasm" (Rust), "hello_haskell.wasm" (Haskell), "std_command.wasm"
// (standard Go, a command module), "sleep.wasm" (TinyGo), "fail.wasm" (C).
func ExtismPath(name string) (string, error) {
	dir, err := extismDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "wasm", name)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("plugintest: Extism fixture: %w", err)
	}
	return path, nil
}
