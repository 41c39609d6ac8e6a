// Command wordcount is an example onex-host plugin written with the sdk: a compute node
// with one typed computation. Build it with the standard Go toolchain:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o wordcount.wasm ./examples/wordcount
//	bin/onex-host run wordcount.wasm --type count_words --data '"the cat and the hat"'
package main

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"unicode"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

func init() {
	sdk.Describe(abi.Manifest{
		Name:          "wordcount",
		Version:       "0.1.0",
		Kind:          abi.KindCompute,
		Description:   "Counts words in text",
		Deterministic: true,
		Idempotent:    true,
	})
	sdk.Compute(abi.Computation{
		Name:         "count_words",
		Description:  "Count the words of a string, case-insensitively; the most frequent first",
		InputSchema:  json.RawMessage(`{"type":"string"}`),
		OutputSchema: json.RawMessage(`{"type":"object","properties":{"total":{"type":"integer"},"top":{"type":"array"}}}`),
	}, countWords)
}

// Counts is count_words' result.
type Counts struct {
	Total int         `json:"total"`
	Top   []WordCount `json:"top"` // at most 3, most frequent first, ties alphabetical
}

// WordCount is one word and how often it occurs.
type WordCount struct {
	Word  string `json:"word"`
	Count int    `json:"count"`
}

func countWords(ctx context.Context, text string) (Counts, error) {
	if strings.TrimSpace(text) == "" {
		return Counts{}, sdk.NewError("invalid_input", "count_words: the text is empty")
	}
	seen := map[string]int{}
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, w := range words {
		seen[w]++
	}
	top := make([]WordCount, 0, len(seen))
	for w, n := range seen {
		top = append(top, WordCount{w, n})
	}
	sort.Slice(top, func(i, j int) bool {
		if top[i].Count != top[j].Count {
			return top[i].Count > top[j].Count
		}
		return top[i].Word < top[j].Word
	})
	sdk.Logger().DebugContext(ctx, "counted", "words", len(words))
	return Counts{Total: len(words), Top: top[:min(3, len(top))]}, nil
}

// main is never called: the host calls the exports the sdk provides.
func main() {}
