package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseItem(t *testing.T) {
	o := batchOptions{computation: "sum_numbers"}
	tests := []struct {
		name        string
		line        string
		computation string
		data        string
		err         bool
	}{
		{name: "plain data", line: `[1,2]`, computation: "sum_numbers", data: `[1,2]`},
		{name: "envelope", line: `{"computation_type":"stats","data":[1]}`, computation: "stats", data: `[1]`},
		{name: "envelope without a computation", line: `{"data":"x"}`, computation: "sum_numbers", data: `"x"`},
		{name: "object that is data", line: `{"a":1}`, computation: "sum_numbers", data: `{"a":1}`},
		{name: "leading white space", line: `  {"computation_type":"stats","data":[2]} `, computation: "stats", data: `[2]`},
		{name: "not JSON", line: `[1,`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := o.parseItem([]byte(tt.line))
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.computation, in.ComputationType)
			assert.JSONEq(t, tt.data, string(in.Data))
		})
	}
}

func FuzzParseItem(f *testing.F) {
	for _, seed := range []string{`[1,2]`, `{"computation_type":"stats","data":[1]}`, `{"data":null}`, `"x"`, ` {"a":1}`, `{`, ``} {
		f.Add([]byte(seed))
	}
	o := batchOptions{computation: "default"}
	f.Fuzz(func(t *testing.T, line []byte) {
		in, err := o.parseItem(line)
		if err != nil {
			return
		}
		if len(in.Data) > 0 && !json.Valid(in.Data) {
			t.Fatalf("data %q is not JSON", in.Data)
		}
		if in.ComputationType == "" {
			t.Fatal("no computation")
		}
	})
}
