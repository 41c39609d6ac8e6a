// Command text is a first-party Extism plugin: ONEX compute-node logic written with
// Extism's Go PDK (github.com/extism/go-pdk) instead of onex-host's sdk, to show that any
// Extism plugin runs as a node. Its node description is the sidecar text.onex.yaml.
//
// Build (make plugins does this, and copies the sidecar next to the module):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o ../../bin/plugins/text.wasm .
//
// It has its own go.mod because the PDK is not a dependency of onex-host.
package main

import (
	"errors"
	"strings"
	"unicode"

	"github.com/extism/go-pdk"
)

// stats is word_count's result.
type stats struct {
	Words      int            `json:"words"`
	Lines      int            `json:"lines"`
	Characters int            `json:"characters"`
	Top        []wordCount    `json:"top"`
	counts     map[string]int `json:"-"`
}

type wordCount struct {
	Word  string `json:"word"`
	Count int    `json:"count"`
}

// wordCount counts words (runs of letters and digits, case-folded), lines and
// characters of its text input and lists the most frequent words, at most "top" of them
// (config key top, default 3).
//
//go:wasmexport word_count
func wordCountExport() int32 {
	text := pdk.InputString()
	s := stats{Characters: len([]rune(text)), counts: map[string]int{}}
	if text != "" {
		s.Lines = strings.Count(text, "\n") + 1
		if strings.HasSuffix(text, "\n") {
			s.Lines--
		}
	}
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		s.Words++
		s.counts[strings.ToLower(w)]++
	}
	top := 3
	if v, ok := pdk.GetConfig("top"); ok {
		n := 0
		for _, r := range v {
			if r < '0' || r > '9' {
				pdk.SetError(errors.New(`config "top" must be a whole number, got ` + v))
				return 1
			}
			n = n*10 + int(r-'0')
		}
		top = n
	}
	s.Top = topWords(s.counts, top)
	if err := pdk.OutputJSON(s); err != nil {
		pdk.SetError(err)
		return 1
	}
	return 0
}

// topWords returns the n most frequent words, ties in alphabetical order.
func topWords(counts map[string]int, n int) []wordCount {
	out := make([]wordCount, 0, len(counts))
	for w, c := range counts {
		out = append(out, wordCount{w, c})
	}
	// Insertion sort keeps the plugin free of the sort package's reflection-free but
	// larger code; inputs are small.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && less(out[j], out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func less(a, b wordCount) bool {
	if a.Count != b.Count {
		return a.Count > b.Count
	}
	return a.Word < b.Word
}

// slugify turns its text input into a URL slug: lowercase letters and digits joined by
// single hyphens. Input without a letter or digit is an error.
//
//go:wasmexport slugify
func slugify() int32 {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(pdk.InputString()) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
		default:
			hyphen = true
		}
	}
	if b.Len() == 0 {
		pdk.SetErrorString("slugify: the input has no letter or digit")
		return 1
	}
	pdk.OutputString(b.String())
	return 0
}

func main() {} // required by -buildmode=c-shared, never called
