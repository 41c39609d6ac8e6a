package main

import (
	"errors"
	"fmt"
	"go/version"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex-host/abi"
)

// onexModule is this repository's module path, which generated projects require.
const onexModule = "github.com/onexhost/onex-host"

// goVersion is the go directive of a generated go.mod, unless the onex-host checkout it
// builds against asks for a later one (the go command refuses a main module older than
// its dependencies).
const goVersion = "1.26"

// onexVersion is the version of onex-host a generated go.mod requires. onex-host is not
// published, so it is a placeholder: the replace directive decides what is built.
const onexVersion = "v0.0.0"

func newNewCmd(e *env) *cobra.Command {
	var kind, dir, module, checkout, lang string
	cmd := &cobra.Command{
		Use:   "new <name> [--lang {go | c | rust}] [--kind {compute | effect}] [--dir <dir>] [--module <path>] [--onex-host <checkout>]",
		Short: "Create a plugin project that builds, tests and runs as generated",
		Long: `new writes a project for one plugin into <dir> (default ./<name>; it must not exist,
or be empty) that builds, tests and runs as generated, in any directory: a Makefile
(build, test, run) and a README.md with the exact commands. <name> is the node's
manifest name and the .wasm file's: 1-64 of a-z, 0-9, '_', '.', '-', starting with a
letter or digit. The Makefile calls this onex-host by its absolute path (ONEX_HOST=...
to use another).

  --lang go    (the default) go.mod, main.go with one handler, main_test.go testing it
               natively; make test build run
  --lang c     main.c and onex.h (the C kit, sdk/c/onex.h; no libc): builds with clang
               and lld; make test builds it and runs it through onex-host
  --lang rust  Cargo.toml, src/lib.rs and onex/ (the dependency-free Rust crate,
               sdk/rust/onex): built by onex-host build with rustc for
               wasm32-unknown-unknown (no cargo or crates registry); make test as for C

  --kind compute  (the default) a "greet" computation: {"name":"world"} -> {"greeting":"Hello, world!"}
  --kind effect   (Go only) a "save" effect writing a file through the host's fs
                  capability into a directory granted with --allow-path, returning its path

A Go project's onex-host dependency: onex-host is not on the Go module proxy, so go.mod
requires github.com/onexhost/onex-host ` + onexVersion + ` (a placeholder) and replaces it with a
local directory: --onex-host <checkout>, by default the nearest directory from the
working directory upward whose go.mod declares that module; when there is none (or with
--onex-host ""), ./onex-host, a copy of the abi and sdk packages this binary was built
with. The go directive is ` + goVersion + `, or the checkout's if that is later. No go.sum is
written: the plugin imports only onex-host's abi and sdk packages, which need only the
standard library, and a module replaced by a directory needs no checksum, so the project
builds as generated, offline. Run go mod tidy once you add dependencies of your own.`,
		Example: `  onex-host new greeter
  onex-host new cgreet --lang c
  onex-host new rgreet --lang rust
  onex-host new notes --kind effect --dir ~/src/notes --module example.org/notes`,
		Args:                  exactArgs("<name>", 1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			p := project{Name: args[0], Kind: kind, Module: module, GoVersion: goVersion, Version: onexVersion,
				Lang: lang, Exe: selfPath(), Crate: rustIdent(args[0])}
			if !abi.ValidName(p.Name) {
				return fmt.Errorf("new: invalid name %q: want 1-64 of a-z, 0-9, '_', '.', '-', starting with a letter or digit (it names the node in its manifest)", p.Name)
			}
			if p.Kind != string(abi.KindCompute) && p.Kind != string(abi.KindEffect) {
				return fmt.Errorf("new: --kind %q: want compute or effect", p.Kind)
			}
			if p.Lang != langGo && p.Lang != langC && p.Lang != langRust {
				return fmt.Errorf("new: --lang %q: want go, c or rust", p.Lang)
			}
			if p.Lang != langGo && p.Kind != string(abi.KindCompute) {
				return fmt.Errorf("new: --lang %s: only --kind compute has a template (an effect node calls its capabilities with onex_call / onex::call: see abi/SPEC.md section 8)", p.Lang)
			}
			if p.Module == "" {
				p.Module = "example.com/" + p.Name
			}
			if strings.ContainsAny(p.Module, " \t\r\n\"'`\\()=>") || strings.HasPrefix(p.Module, "/") {
				return fmt.Errorf("new: --module %q is not a module path", p.Module)
			}
			if cmd.Flags().Changed("onex-host") {
				if checkout != "" {
					abs, err := filepath.Abs(checkout)
					if err != nil || !isCheckout(abs) {
						return fmt.Errorf("new: --onex-host %s: no go.mod of module %s there", checkout, onexModule)
					}
					p.Checkout = abs
				}
			} else if wd, err := os.Getwd(); err == nil && p.Lang == langGo {
				p.Checkout = findCheckout(wd)
			}
			if v := checkoutGo(p.Checkout); v != "" && version.Compare("go"+v, "go"+p.GoVersion) > 0 {
				p.GoVersion = v
			}
			if dir == "" {
				dir = p.Name
			}
			if err := checkEmpty(dir); err != nil {
				return err
			}
			names, files, err := render(p)
			if err != nil {
				return failure{fmt.Errorf("new: %w", err)}
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return failure{fmt.Errorf("new: %w", err)}
			}
			kit, kitSummary := kitFiles(p)
			for name, b := range kit {
				files[name] = b
			}
			for name, b := range files {
				file := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					return failure{fmt.Errorf("new: %w", err)}
				}
				if err := os.WriteFile(file, b, 0o644); err != nil {
					return failure{fmt.Errorf("new: %w", err)}
				}
			}
			if kitSummary != "" {
				names = append(names, kitSummary)
			}
			var what, next string
			switch p.Lang {
			case langGo:
				what = fmt.Sprintf("Go %s node %q, module %s", p.Kind, p.Name, p.Module)
				next = "make test build run"
				if p.Checkout != "" {
					names = append(names, "(go.mod replaces onex-host with "+p.Checkout+")")
				}
			case langC:
				what, next = fmt.Sprintf("C %s node %q", p.Kind, p.Name), "make test run"
			case langRust:
				what, next = fmt.Sprintf("Rust %s node %q", p.Kind, p.Name), "make test run"
			}
			hint := ""
			if p.Exe == "onex-host" {
				hint = "\n  (the Makefile runs onex-host from PATH: `make install` in a checkout of onex-host puts it there)"
			}
			_, err = fmt.Fprintf(e.stdout, "created %s: %s\n  %s\nnext: cd %s && %s%s\n",
				dir, what, strings.Join(names, " "), shQuote(dir), next, hint)
			return err
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&kind, "kind", string(abi.KindCompute), "the node's kind: {compute | effect}")
	flags.StringVar(&dir, "dir", "", "the project's directory, created if missing (default ./<name>)")
	flags.StringVar(&module, "module", "", "the project's module path (default example.com/<name>)")
	flags.StringVar(&checkout, "onex-host", "", "the onex-host checkout go.mod replaces the module with (default: found from the working directory upward, else a copy from this binary; \"\" for the copy)")
	flags.StringVar(&lang, "lang", langGo, "the plugin's language: {go | c | rust}")
	return cmd
}

// selfPath returns the absolute path of the running onex-host, for generated Makefiles,
// or "onex-host" (found on PATH) when it has none or is a test binary.
func selfPath() string {
	exe, err := os.Executable()
	if err != nil || strings.HasSuffix(exe, ".test") || strings.ContainsAny(exe, " \t'\"$\\") {
		return "onex-host"
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return exe
}

// checkEmpty returns a misuse error unless dir is missing or an empty directory.
func checkEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		if info, statErr := os.Stat(dir); statErr == nil && !info.IsDir() {
			return fmt.Errorf("new: %s exists and is not a directory", dir)
		}
		return failure{fmt.Errorf("new: %w", err)}
	case len(entries) > 0:
		return fmt.Errorf("new: %s exists and is not empty: choose another --dir, or empty it", dir)
	}
	return nil
}

// findCheckout returns the nearest of dir and its parents that is an onex-host checkout,
// or "" if none is.
func findCheckout(dir string) string {
	for {
		if isCheckout(dir) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// isCheckout reports whether dir holds the go.mod of module onexModule.
func isCheckout(dir string) bool {
	return goModDirective(dir, "module") == onexModule
}

// checkoutGo returns the go directive's version in the go.mod of the checkout dir, or ""
// if dir is "" or its go.mod has none.
func checkoutGo(dir string) string {
	if dir == "" {
		return ""
	}
	return goModDirective(dir, "go")
}

// goModDirective returns the argument of the first one-line directive called name in
// dir's go.mod, unquoted, or "" if there is none or no go.mod.
func goModDirective(dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == name {
			return strings.Trim(f[1], "\"`")
		}
	}
	return ""
}
