package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

// TestRun_InputDoor is the CLI door's table (issue 17): run takes its data from --data,
// piped stdin or an --input envelope; a wrong input is misuse (exit 2) naming what is
// wrong, never exit 0 with a wrong result.
func TestRun_InputDoor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// big is over the 1 KiB --max-input plus the 1 MiB envelope room: refused, not cut.
	big := filepath.Join(dir, "big.json")
	require.NoError(t, os.WriteFile(big, []byte(`{"computation_type":"default","data":"`+strings.Repeat("x", 1<<20+1<<10)+`"}`), 0o644))
	twoKiB := `"` + strings.Repeat("a", 2<<10) + `"`
	fileops := goPlugin(t, "plugins/fileops")
	tests := []struct {
		name       string
		stdin      string
		args       []string
		wantCode   int
		wantResult string // with wantCode 0
		wantStderr string // with another code
	}{
		{name: "piped stdin is the data", stdin: "[1,2]\n", args: []string{"run", corePath, "--type", "sum_numbers"}, wantResult: "3"},
		{name: "empty stdin is null", stdin: "", args: []string{"run", corePath}, wantResult: "null"},
		{name: "white space stdin is null", stdin: " \n", args: []string{"run", corePath}, wantResult: "null"},
		{name: "--data wins over stdin", stdin: "[5]", args: []string{"run", corePath, "-t", "sum_numbers", "--data", "[1,2]"}, wantResult: "3"},
		{name: "piped stdin not JSON", stdin: "[1,", args: []string{"run", corePath, "--type", "sum_numbers"}, wantCode: 2, wantStderr: "stdin (piped, read as the input data; use --input - for a whole envelope): abi: invalid data: not valid JSON"},
		{name: "piped stdin invalid UTF-8", stdin: "\"a\xffb\"", args: []string{"run", corePath, "--type", "string_uppercase"}, wantCode: 2, wantStderr: "not valid UTF-8 at byte 2"},
		{name: "--data invalid UTF-8", args: []string{"run", corePath, "--type", "string_uppercase", "--data", "\"a\xffb\""}, wantCode: 2, wantStderr: "--data: abi: invalid data: not valid UTF-8"},
		{name: "envelope", stdin: `{"computation_type":"sum_numbers","data":[1,2]}`, args: []string{"run", corePath, "--input", "-"}, wantResult: "3"},
		{name: "envelope explicit default", stdin: `{"computation_type":"default","data":[1,2]}`, args: []string{"run", corePath, "--input", "-"}, wantResult: "[1,2]"},
		{name: "envelope unknown field", stdin: `{"type":"sum_numbers","data":[1,2]}`, args: []string{"run", corePath, "--input", "-"}, wantCode: 2, wantStderr: `unknown field "type"`},
		{name: "envelope without computation_type", stdin: `{"data":[1,2]}`, args: []string{"run", corePath, "--input", "-"}, wantCode: 2, wantStderr: "computation_type is missing"},
		{name: "envelope invalid UTF-8", stdin: "{\"computation_type\":\"default\",\"data\":\"\xff\"}", args: []string{"run", corePath, "--input", "-"}, wantCode: 2, wantStderr: "not valid UTF-8"},
		{name: "envelope trailing data", stdin: `{"computation_type":"default","data":1} 2`, args: []string{"run", corePath, "--input", "-"}, wantCode: 2, wantStderr: "trailing data"},
		{name: "envelope over the cap", args: []string{"run", corePath, "--input", big, "--max-input", "1KiB"}, wantCode: 2, wantStderr: "more than the 1024-byte input limit (plus 1048576 bytes for the envelope); raise it with --max-input"},
		{name: "stdin over the cap", stdin: twoKiB, args: []string{"run", corePath, "--max-input", "1KiB"}, wantCode: 2, wantStderr: "stdin: more than the 1024-byte input limit (raise it with --max-input)"},
		{name: "--data over the cap", args: []string{"run", corePath, "--max-input", "1KiB", "--data", twoKiB}, wantCode: 2, wantStderr: "--data: more than the 1024-byte input limit"},
		{name: "envelope data over the cap", stdin: `{"computation_type":"default","data":` + twoKiB + `}`, args: []string{"run", corePath, "--input", "-", "--max-input", "1KiB"}, wantCode: 1, wantStderr: "input"},
		{name: "--max-input raises the cap", stdin: twoKiB, args: []string{"run", corePath, "--max-input", "4KiB", "--type", "string_uppercase"}, wantResult: strings.ToUpper(twoKiB)},
		{name: "--max-input invalid", args: []string{"run", corePath, "--max-input", "lots"}, wantCode: 2, wantStderr: "--max-input"},
		{name: "--max-input over 1GiB", args: []string{"run", corePath, "--max-input", "2GiB"}, wantCode: 2, wantStderr: "--max-input"},
		{name: "call over the cap", stdin: twoKiB, args: []string{"call", corePath, "default", "--input-file", "-", "--max-input", "1KiB"}, wantCode: 2, wantStderr: "more than the 1024-byte input limit; raise it with --max-input"},
		{name: "effect envelope without effect_type", stdin: `{"operation_data":{}}`, args: []string{"run", fileops, "--allow-path", dir, "--input", "-"}, wantCode: 2, wantStderr: "effect_type is missing"},
		{name: "effect envelope unknown field", stdin: `{"effect_type":"write","data":{}}`, args: []string{"run", fileops, "--allow-path", dir, "--input", "-"}, wantCode: 2, wantStderr: `unknown field "data"`},
		{name: "effect piped stdin invalid UTF-8", stdin: "{\"path\":\"\xff\"}", args: []string{"run", fileops, "--allow-path", dir, "--type", "write"}, wantCode: 2, wantStderr: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := cli(t, tt.stdin, tt.args...)
			require.Equal(t, tt.wantCode, code, stderr)
			if tt.wantCode != 0 {
				assert.Empty(t, stdout)
				assert.Contains(t, stderr, tt.wantStderr)
				return
			}
			var out abi.ComputeOutput
			require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
			assert.JSONEq(t, tt.wantResult, string(out.Result))
		})
	}
}
