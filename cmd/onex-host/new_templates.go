package main

import (
	"bytes"
	"embed"
	"fmt"
	"go/format"
	"path"
	"strconv"
	"strings"
	"text/template"

	"github.com/onexhost/onex-host/cmd/onex-host/internal/kitsrc"
)

// templates holds the files `onex-host new` writes, as text/template sources: go.mod,
// Makefile and README.md for both kinds, and main.go and main_test.go under compute/ and
// effect/. They are .tmpl files so the Go tooling of this repository ignores them.
//
//go:embed templates
var templates embed.FS

// project is what the templates are executed with.
type project struct {
	Name      string // the node's manifest name, also the .wasm file's name
	Kind      string // "compute" or "effect"
	Module    string // the generated module's path
	GoVersion string // the go directive's version
	Version   string // the version of onex-host go.mod requires
	Checkout  string // absolute path of the onex-host checkout go.mod replaces it with; "" for the embedded copy
	Lang      string // "go", "c" or "rust"
	Exe       string // the onex-host the Makefile calls: the one running `new`, by absolute path
	Crate     string // the Rust crate's name (Name as an identifier)
}

// projectFiles maps each generated file to its template.
func projectFiles(lang, kind string) [][2]string {
	switch lang {
	case langC:
		return [][2]string{
			{"main.c", "c/main.c.tmpl"},
			{"Makefile", "c/Makefile.tmpl"},
			{"README.md", "c/README.md.tmpl"},
		}
	case langRust:
		return [][2]string{
			{"Cargo.toml", "rust/Cargo.toml.tmpl"},
			{"src/lib.rs", "rust/lib.rs.tmpl"},
			{"Makefile", "rust/Makefile.tmpl"},
			{"README.md", "rust/README.md.tmpl"},
		}
	}
	return [][2]string{
		{"go.mod", "go.mod.tmpl"},
		{"main.go", kind + "/main.go.tmpl"},
		{"main_test.go", kind + "/main_test.go.tmpl"},
		{"Makefile", "Makefile.tmpl"},
		{"README.md", "README.md.tmpl"},
	}
}

// render executes every template for p and returns the files' names, in projectFiles
// order, and their contents. Go files are gofmt-ed, so the templates need not be exact
// about spacing. An error means a broken template: a bug of this program.
func render(p project) (names []string, files map[string][]byte, err error) {
	funcs := template.FuncMap{"modQuote": modQuote, "shQuote": shQuote}
	files = map[string][]byte{}
	check, err := templates.ReadFile("templates/check.tmpl")
	if err != nil {
		return nil, nil, err
	}
	for _, f := range projectFiles(p.Lang, p.Kind) {
		src, err := templates.ReadFile(path.Join("templates", f[1]))
		if err != nil {
			return nil, nil, err
		}
		t, err := template.New(f[1]).Funcs(funcs).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, nil, err
		}
		if _, err := t.New("check.tmpl").Parse(string(check)); err != nil {
			return nil, nil, err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, p); err != nil {
			return nil, nil, err
		}
		out := b.Bytes()
		if strings.HasSuffix(f[0], ".go") {
			if out, err = format.Source(out); err != nil {
				return nil, nil, fmt.Errorf("template %s: %w", f[1], err)
			}
		}
		names = append(names, f[0])
		files[f[0]] = out
	}
	return names, files, nil
}

// kitFiles returns the files of the onex-host kit a project of p needs, from the copy
// embedded in this binary, keyed by their path in the project, and a short description
// of them for `new`'s summary: onex-host's abi and sdk packages as a module in
// ./onex-host for a Go project without a checkout, onex.h for C, the onex crate for Rust.
func kitFiles(p project) (files map[string][]byte, summary string) {
	files = map[string][]byte{}
	switch p.Lang {
	case langC:
		files["onex.h"] = kitsrc.Files()["sdk/c/onex.h"]
		return files, "onex.h"
	case langRust:
		for name, b := range kitsrc.Under("sdk/rust/onex") {
			files["onex/"+name] = b
		}
		return files, "onex/ (the onex crate)"
	}
	if p.Checkout != "" {
		return nil, ""
	}
	for _, pkg := range []string{"abi", "sdk"} {
		for name, b := range kitsrc.Under(pkg) {
			// sdk/c and sdk/rust are not Go; source.go embeds the sources for this
			// binary only (its patterns name files the project does not get).
			if !strings.Contains(name, "/") && name != "source.go" {
				files["onex-host/"+pkg+"/"+name] = b
			}
		}
	}
	files["onex-host/go.mod"] = []byte("module " + onexModule + "\n\ngo " + p.GoVersion + "\n")
	return files, "onex-host/ (onex-host's abi and sdk, from this binary)"
}

// modQuote returns s as a go.mod token: as it is, or quoted when it holds a space, a
// quote, a backslash or a character go.mod would read as punctuation.
func modQuote(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\r\n\"'`\\()=>") {
		return strconv.Quote(s)
	}
	return s
}

// shQuote returns s as one POSIX shell word.
func shQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:@~") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
