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
	Checkout  string // absolute path of the onex-host checkout go.mod replaces it with; "" for none
}

// projectFiles maps each generated file to its template.
func projectFiles(kind string) [][2]string {
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
	for _, f := range projectFiles(p.Kind) {
		src, err := templates.ReadFile(path.Join("templates", f[1]))
		if err != nil {
			return nil, nil, err
		}
		t, err := template.New(f[1]).Funcs(funcs).Option("missingkey=error").Parse(string(src))
		if err != nil {
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
