package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

func TestBatchOptions_parseItem(t *testing.T) {
	data := batchOptions{computation: "sum_numbers", lines: linesData}
	envelope := batchOptions{computation: "sum_numbers", lines: linesEnvelope}
	tests := []struct {
		name        string
		opts        batchOptions
		line        string
		computation string
		data        string
		wantErr     error
	}{
		{name: "data: plain data", opts: data, line: `[1,2]`, computation: "sum_numbers", data: `[1,2]`},
		{name: "data: an object with a data key is data", opts: data, line: `{"data":[1]}`, computation: "sum_numbers", data: `{"data":[1]}`},
		{name: "data: an envelope-looking line is data", opts: data, line: `{"computation_type":"stats","data":[1]}`, computation: "sum_numbers", data: `{"computation_type":"stats","data":[1]}`},
		{name: "data: not JSON", opts: data, line: `[1,`, wantErr: abi.ErrInvalidData},
		{name: "data: invalid UTF-8", opts: data, line: "\"a\xffb\"", wantErr: abi.ErrInvalidData},
		{name: "data: two values", opts: data, line: `1 2`, wantErr: abi.ErrInvalidData},
		{name: "envelope", opts: envelope, line: `{"computation_type":"stats","data":[1]}`, computation: "stats", data: `[1]`},
		{name: "envelope: leading white space", opts: envelope, line: `  {"computation_type":"stats","data":[2]} `, computation: "stats", data: `[2]`},
		{name: "envelope: explicit default", opts: envelope, line: `{"computation_type":"default","data":{"data":1}}`, computation: "default", data: `{"data":1}`},
		{name: "envelope: no computation_type", opts: envelope, line: `{"data":"x"}`, wantErr: abi.ErrInvalidEnvelope},
		{name: "envelope: unknown field", opts: envelope, line: `{"type":"stats","data":[1]}`, wantErr: abi.ErrInvalidEnvelope},
		{name: "envelope: plain data", opts: envelope, line: `[1,2]`, wantErr: abi.ErrInvalidEnvelope},
		{name: "envelope: invalid UTF-8", opts: envelope, line: "{\"computation_type\":\"x\",\"data\":\"\xc3\"}", wantErr: abi.ErrInvalidEnvelope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := tt.opts.parseItem([]byte(tt.line))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.computation, in.ComputationType)
			assert.JSONEq(t, tt.data, string(in.Data))
		})
	}
}

// FuzzItemSource_scan feeds the batch line reader arbitrary input in both --lines modes:
// every item it yields has a named computation and valid UTF-8 JSON data, and a failure
// is a typed error (ErrInvalidData, ErrInvalidEnvelope) or a line too long, never a panic.
func FuzzItemSource_scan(f *testing.F) {
	for _, seed := range []string{
		"[1,2]\n[3]\n",
		`{"computation_type":"stats","data":[1]}` + "\n" + `{"data":null}` + "\n",
		"\"x\"\n\n  \n",
		" {\"a\":1}\r\n",
		"{\n",
		"\"a\xffb\"\n",
		`{"type":"sum_numbers","data":[1,2]}`,
		"",
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, input []byte, envelope bool) {
		opts := batchOptions{computation: "default", lines: linesData, maxInput: 1 << 10}
		if envelope {
			opts.lines = linesEnvelope
		}
		s := &itemSource{name: "--input -", opts: opts}
		err := s.scan(bytes.NewReader(input), func(_ int, in abi.ComputeInput) error {
			if in.ComputationType == "" {
				t.Fatal("an item without a computation")
			}
			if len(in.Data) > 0 && (!json.Valid(in.Data) || !utf8.Valid(in.Data)) {
				t.Fatalf("data %q is not UTF-8 JSON", in.Data)
			}
			return nil
		})
		if err != nil && !errors.Is(err, abi.ErrInvalidData) && !errors.Is(err, abi.ErrInvalidEnvelope) &&
			!bytes.Contains([]byte(err.Error()), []byte("longer than")) {
			t.Fatalf("untyped error: %v", err)
		}
	})
}
