package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

// Languages `new` scaffolds and `build` builds.
const (
	langGo   = "go"
	langC    = "c"
	langRust = "rust"
)

// The compiler lines `build` runs and generated projects document. cFlags build a
// freestanding module (no libc: sdk/c/onex.h provides what the compiler may call);
// rustFlags a cdylib for wasm32-unknown-unknown (no WASI needed, no crates registry).
var (
	cFlags    = []string{"--target=wasm32", "-O2", "-ffreestanding", "-nostdlib", "-Wall", "-Wl,--no-entry"}
	rustFlags = []string{"--edition", "2021", "-O", "-C", "strip=debuginfo", "--target", "wasm32-unknown-unknown"}
)

func newBuildCmd(e *env) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "build [dir] [-o <file.wasm>]",
		Short: "Build the plugin in dir (Go, C or Rust) into a .wasm the host loads",
		Long: `build compiles the plugin project in dir (default .) with the flags its language
needs, then prints where the .wasm went and its size. The language is dir's:

  go    a go.mod: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared (a reactor module;
        a plain go build makes a command module, which the host refuses)
  rust  a Cargo.toml or src/lib.rs: rustc for wasm32-unknown-unknown as a cdylib, with
        the onex crate (sdk/rust/onex) from the path Cargo.toml gives it, if any; no
        cargo or crates registry needed. The rustc is $RUSTC, else the first of rustc on
        PATH and /usr/bin/rustc that has the wasm32-unknown-unknown standard library
        (Debian: apt-get install rustc libstd-rust-dev-wasm32; rustup: rustup target add
        wasm32-unknown-unknown)
  c     *.c files: clang --target=wasm32 -ffreestanding -nostdlib -Wl,--no-entry
        ($CC if set; Debian: apt-get install clang lld)

The .wasm is <dir's name>.wasm in dir (the Rust crate's package name for Rust), or -o.`,
		Example: `  onex-host build
  onex-host build ./greeter -o /tmp/greeter.wasm`,
		Args:                  cobra.MaximumNArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return failure{fmt.Errorf("build: %w", err)}
			}
			lang, err := detectLang(abs)
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join(abs, defaultWasmName(abs, lang))
			} else if out, err = filepath.Abs(out); err != nil {
				return failure{fmt.Errorf("build: %w", err)}
			}
			c, cleanup, err := buildCommand(abs, lang, out)
			defer cleanup()
			if err != nil {
				return failure{fmt.Errorf("build: %w", err)}
			}
			for _, step := range c {
				step.Stdout, step.Stderr = e.stderr, e.stderr
				if err := step.Run(); err != nil {
					return failure{fmt.Errorf("build: %s: %w", strings.Join(step.Args, " "), err)}
				}
			}
			info, err := os.Stat(out)
			if err != nil {
				return failure{fmt.Errorf("build: %w", err)}
			}
			_, err = fmt.Fprintf(e.stdout, "built %s (%s, %s)\n", out, lang, formatSize(int(info.Size())))
			return err
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "the .wasm to write (default <dir>/<name>.wasm)")
	return cmd
}

// detectLang returns the language of the plugin project in dir, or a misuse error.
func detectLang(dir string) (string, error) {
	exists := func(name string) bool { _, err := os.Stat(filepath.Join(dir, name)); return err == nil }
	switch {
	case exists("go.mod"):
		return langGo, nil
	case exists("Cargo.toml") || exists(filepath.Join("src", "lib.rs")):
		return langRust, nil
	}
	if cs, _ := filepath.Glob(filepath.Join(dir, "*.c")); len(cs) > 0 {
		return langC, nil
	}
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	return "", fmt.Errorf("build: %s: no go.mod, Cargo.toml, src/lib.rs or *.c: not a plugin project (onex-host new creates one)", dir)
}

var (
	cargoName    = regexp.MustCompile(`(?m)^\s*name\s*=\s*"([^"]+)"`)
	cargoOnexDep = regexp.MustCompile(`(?m)^\s*onex\s*=\s*\{[^}]*path\s*=\s*"([^"]+)"`)
)

// defaultWasmName is the .wasm's name for the project in dir.
func defaultWasmName(dir, lang string) string {
	if lang == langRust {
		if b, err := os.ReadFile(filepath.Join(dir, "Cargo.toml")); err == nil {
			if m := cargoName.FindSubmatch(b); m != nil {
				return string(m[1]) + ".wasm"
			}
		}
	}
	return filepath.Base(dir) + ".wasm"
}

// buildCommand returns the commands that build the project in dir into out, and a
// function removing their temporary files, to call even on error.
func buildCommand(dir, lang, out string) ([]*exec.Cmd, func(), error) {
	tmp := ""
	cleanup := func() {
		if tmp != "" {
			_ = os.RemoveAll(tmp)
		}
	}
	steps, err := buildSteps(dir, lang, out, &tmp)
	return steps, cleanup, err
}

func buildSteps(dir, lang, out string, tmp *string) ([]*exec.Cmd, error) {
	switch lang {
	case langGo:
		c := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
		c.Dir = dir
		c.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		return []*exec.Cmd{c}, nil
	case langC:
		cc := os.Getenv("CC")
		if cc == "" || cc == "cc" {
			cc = "clang"
		}
		if _, err := exec.LookPath(cc); err != nil {
			return nil, fmt.Errorf("%s not found: install clang and lld (Debian: apt-get install clang lld)", cc)
		}
		srcs, _ := filepath.Glob(filepath.Join(dir, "*.c"))
		args := append(append([]string{}, cFlags...), "-I", dir, "-o", out)
		c := exec.Command(cc, append(args, srcs...)...)
		c.Dir = dir
		return []*exec.Cmd{c}, nil
	case langRust:
		rustc, err := wasmRustc()
		if err != nil {
			return nil, err
		}
		lib := filepath.Join(dir, "src", "lib.rs")
		crate := strings.TrimSuffix(filepath.Base(out), ".wasm")
		args := append(append([]string{}, rustFlags...), "--crate-type", "cdylib", "--crate-name", rustIdent(crate), "-o", out)
		var steps []*exec.Cmd
		if b, err := os.ReadFile(filepath.Join(dir, "Cargo.toml")); err == nil {
			if m := cargoOnexDep.FindSubmatch(b); m != nil {
				onexDir := string(m[1])
				if !filepath.IsAbs(onexDir) {
					onexDir = filepath.Join(dir, onexDir)
				}
				t, err := os.MkdirTemp("", "onex-host-build-")
				if err != nil {
					return nil, err
				}
				*tmp = t
				rlib := filepath.Join(t, "libonex.rlib")
				steps = append(steps, exec.Command(rustc, append(append([]string{}, rustFlags...), "--crate-type", "rlib", "--crate-name", "onex", "-o", rlib, filepath.Join(onexDir, "src", "lib.rs"))...))
				args = append(args, "--extern", "onex="+rlib)
			}
		}
		steps = append(steps, exec.Command(rustc, append(args, lib)...))
		for _, s := range steps {
			s.Dir = dir
		}
		return steps, nil
	}
	return nil, fmt.Errorf("unknown language %q", lang)
}

// rustIdent turns a package name into a crate name rustc accepts.
func rustIdent(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		s = "p" + s
	}
	return s
}

// wasmRustc returns a rustc that can build for wasm32-unknown-unknown: $RUSTC, else the
// first of rustc on PATH and /usr/bin/rustc whose sysroot has that target's std.
func wasmRustc() (string, error) {
	if r := os.Getenv("RUSTC"); r != "" {
		return r, nil
	}
	var tried []string
	for _, r := range []string{"rustc", "/usr/bin/rustc"} {
		p, err := exec.LookPath(r)
		if err != nil {
			continue
		}
		tried = append(tried, p)
		sysroot, err := exec.Command(p, "--print", "sysroot").Output()
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(sysroot)), "lib", "rustlib", "wasm32-unknown-unknown")); err == nil {
			return p, nil
		}
	}
	if len(tried) == 0 {
		return "", errors.New("rustc not found: install it (Debian: apt-get install rustc libstd-rust-dev-wasm32)")
	}
	return "", fmt.Errorf("no rustc with the wasm32-unknown-unknown standard library (tried %s): Debian: apt-get install rustc libstd-rust-dev-wasm32; rustup: rustup target add wasm32-unknown-unknown; or set RUSTC", strings.Join(tried, ", "))
}
