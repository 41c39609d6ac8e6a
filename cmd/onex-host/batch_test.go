package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// batchLine is one output line of batch: a ComputeOutput or an item error.
type batchLine struct {
	Result                json.RawMessage `json:"result"`
	OperationID           string          `json:"operation_id"`
	ComputationType       string          `json:"computation_type"`
	ProcessingTimeMS      float64         `json:"processing_time_ms"`
	CacheHit              bool            `json:"cache_hit"`
	CacheOutcome          string          `json:"cache_outcome"`
	ParallelExecutionUsed bool            `json:"parallel_execution_used"`
	FuelUsed              uint64          `json:"fuel_used"`
	Metadata              map[string]any  `json:"metadata"`
	Error                 *itemErrorBody  `json:"error"`
}

// batchLines decodes batch output strictly: one compact JSON object per line.
func batchLines(t testing.TB, out string) []batchLine {
	t.Helper()
	var lines []batchLine
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l batchLine
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&l), "line %q", sc.Text())
		lines = append(lines, l)
	}
	require.NoError(t, sc.Err())
	return lines
}

func TestBatch(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where stdin is spooled
	defer func() {
		left, err := os.ReadDir(tmp)
		require.NoError(t, err)
		assert.Empty(t, left, "the spool of stdin is removed")
	}()
	// want is one expected output line: a result, or an error kind and code.
	type want struct {
		result      string
		computation string
		opID        string
		hit         bool
		kind, code  string
	}
	const overflow = `[1e308,1e308]` // fails: sum_numbers overflows
	// The batch command is the point of most cases: they run the echo fixture (identity
	// as "default"), which loads in milliseconds where the core plugin takes seconds under
	// -race. The core plugin runs the cases that need its computations or its failures.
	echo := fixture("wat/echo.wasm")
	tests := []struct {
		name   string
		plugin string // default: the core plugin
		stdin  string
		args   []string
		code   int
		want   []want
		stderr string
	}{
		{
			name:   "data lines",
			plugin: echo,
			stdin:  "[1,2]\n\n  \n[3,4]\r\n",
			args:   []string{"--type", "length"},
			want:   []want{{result: "5", computation: "length"}, {result: "5", computation: "length"}},
		},
		{
			name: "envelope lines",
			stdin: `{"computation_type":"sha256","data":"abc"}` + "\n" +
				`{"computation_type":"string_uppercase","data":[1,2]}` + "\n" +
				`{"computation_type":"sum_numbers","data":[1,2],"operation_id":"op-1","metadata":{"k":"v"}}` + "\n" +
				`{"computation_type":"default","data":{"data":1}}` + "\n" +
				`{"computation_type":"string_uppercase","data":"a<b"}`,
			args: []string{"--lines", "envelope", "--workers", "3"},
			want: []want{
				{result: `"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"`, computation: "sha256"},
				{kind: "invalid_input", code: "invalid_input", computation: "string_uppercase"},
				{result: "3", computation: "sum_numbers", opID: "op-1"},
				{result: `{"data":1}`, computation: "default"},
				{result: `"A<B"`, computation: "string_uppercase"},
			},
			code:   1,
			stderr: "1 of 5 items failed; the first, line 2",
		},
		{
			name:   "data lines are data, a data key too",
			plugin: echo,
			stdin:  `{"data":[1,2]}` + "\n" + `{"computation_type":"sum_numbers","data":[1]}` + "\n",
			args:   []string{"--lines", "data"},
			want: []want{
				{result: `{"data":[1,2]}`, computation: "default"},
				{result: `{"computation_type":"sum_numbers","data":[1]}`, computation: "default"},
			},
		},
		{
			name:   "failing item",
			stdin:  "[1]\n" + overflow + "\n[2]\n",
			args:   []string{"--type", "sum_numbers"},
			want:   []want{{result: "1"}, {kind: "failed", code: "overflow", computation: "sum_numbers"}, {result: "2"}},
			code:   1,
			stderr: "batch: items 3, failed 1,",
		},
		{
			name:   "unknown computation",
			plugin: echo,
			stdin:  "1\n",
			args:   []string{"--type", "nope"},
			want:   []want{{kind: "unknown_computation", code: "unknown_computation", computation: "nope"}},
			code:   1,
			stderr: "1 of 1 items failed",
		},
		{
			name:   "fail fast",
			stdin:  "[1]\n" + overflow + "\n[2]\n[3]\n",
			args:   []string{"--type", "sum_numbers", "--fail-fast", "--workers", "1"},
			want:   []want{{result: "1"}, {kind: "failed", code: "overflow"}},
			code:   1,
			stderr: "stopped at the first failed item, line 2",
		},
		{
			name:   "cache hits",
			plugin: echo,
			stdin:  "[1,2]\n[1,2]\n[1,2]\n",
			args:   []string{"--workers", "1"},
			want:   []want{{result: "[1,2]"}, {result: "[1,2]", hit: true}, {result: "[1,2]", hit: true}},
			stderr: "batch: items 3, failed 0, cache hits 2 (66.7%), host cache hits 2/3 (66.7%), wall ",
		},
		{
			name:   "no cache",
			plugin: echo,
			stdin:  "[1,2]\n[1,2]\n",
			args:   []string{"--workers", "1", "--no-cache"},
			want:   []want{{result: "[1,2]"}, {result: "[1,2]"}},
			stderr: "cache hits 0 (0.0%), host cache hits 0/0 (0.0%)",
		},
		{
			name:   "empty input",
			plugin: echo,
			stdin:  "\n\n",
			stderr: "batch: items 0, failed 0, cache hits 0 (-)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plugin := tt.plugin
			if plugin == "" {
				plugin = corePath
			}
			code, stdout, stderr := cli(t, tt.stdin, append([]string{"batch", plugin, "--input", "-"}, tt.args...)...)
			require.Equal(t, tt.code, code, stderr)
			assert.Contains(t, stderr, tt.stderr)
			assert.NotContains(t, stderr, "\r", "no progress line when stderr is not a terminal")
			lines := batchLines(t, stdout)
			require.Len(t, lines, len(tt.want), stdout)
			for i, w := range tt.want {
				l := lines[i]
				assert.NotEmpty(t, l.OperationID)
				if w.opID != "" {
					assert.Equal(t, w.opID, l.OperationID)
				}
				if w.computation != "" {
					assert.Equal(t, w.computation, l.ComputationType, "line %d", i)
				}
				if w.kind != "" {
					require.NotNil(t, l.Error, "line %d: %s", i, stdout)
					assert.Equal(t, w.kind, l.Error.Kind)
					assert.Equal(t, w.code, l.Error.Code)
					assert.NotEmpty(t, l.Error.Message)
					assert.False(t, l.Error.Retryable)
					assert.Nil(t, l.Result)
					continue
				}
				require.Nil(t, l.Error, "line %d: %s", i, stdout)
				assert.JSONEq(t, w.result, string(l.Result), "line %d", i)
				assert.Equal(t, w.hit, l.CacheHit, "line %d", i)
				if w.opID == "op-1" {
					assert.Equal(t, map[string]any{"k": "v"}, l.Metadata)
				}
			}
		})
	}
}

func TestBatch_Errors(t *testing.T) {
	echo := fixture("wat/echo.wasm") // the input is refused before any computation runs
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	require.NoError(t, os.WriteFile(good, []byte("[1]\n"), 0o644))
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{name: "not JSON", stdin: "[1]\n\n[2\n[3]\n", code: 2, stderr: "--input -: line 3: abi: invalid data: not valid JSON"},
		{name: "bad envelope", args: []string{"batch", echo, "-i", "-", "--lines", "envelope"}, stdin: `{"data":1,"computation_type":5}`, code: 2, stderr: "--input -: line 1: abi: invalid envelope: compute input"},
		{name: "envelope without a type", args: []string{"batch", echo, "-i", "-", "--lines", "envelope"}, stdin: "{\"computation_type\":\"default\",\"data\":1}\n{\"data\":1}\n", code: 2, stderr: "line 2: abi: invalid envelope: compute input: computation_type is missing"},
		{name: "envelope unknown field", args: []string{"batch", echo, "-i", "-", "--lines", "envelope"}, stdin: `{"type":"sum_numbers","data":[1]}`, code: 2, stderr: `line 1: abi: invalid envelope: compute input: unknown field "type"`},
		{name: "envelope and type", args: []string{"batch", echo, "-i", "-", "--lines", "envelope", "-t", "sum_numbers"}, stdin: "", code: 2, stderr: "--type applies to --lines data"},
		{name: "bad lines", args: []string{"batch", echo, "-i", "-", "--lines", "json"}, stdin: "", code: 2, stderr: `--lines "json": want data or envelope`},
		{name: "invalid UTF-8 data line", stdin: "[1]\n\"a\xffb\"\n", code: 2, stderr: "line 2: abi: invalid data: not valid UTF-8 at byte 2"},
		{name: "missing input", args: []string{"batch", echo}, code: 2, stderr: `required flag(s) "input" not set`},
		{name: "missing file", args: []string{"batch", echo, "--input", filepath.Join(dir, "none.jsonl")}, code: 2, stderr: "no such file"},
		{name: "negative workers", args: []string{"batch", echo, "-i", good, "--workers", "-1"}, code: 2, stderr: "--workers -1"},
		{name: "bad output", args: []string{"batch", echo, "-i", good, "-o", filepath.Join(dir, "no", "out.jsonl")}, code: 2, stderr: "--output"},
		{name: "output is input", args: []string{"batch", echo, "-i", good, "-o", good}, code: 2, stderr: "is the input file"},
		{name: "not wasm", args: []string{"batch", fixture("notwasm.txt"), "-i", good}, code: 1, stderr: "invalid module"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if args == nil {
				// Nothing may run before the whole input is checked: not even --output is created.
				args = []string{"batch", echo, "--input", "-", "--output", filepath.Join(dir, tt.name+".jsonl")}
				defer func() { assert.NoFileExists(t, args[len(args)-1]) }()
			}
			code, stdout, stderr := cli(t, tt.stdin, args...)
			assert.Equal(t, tt.code, code)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tt.stderr)
		})
	}
	b, err := os.ReadFile(good)
	require.NoError(t, err)
	assert.Equal(t, "[1]\n", string(b), "the input is never truncated")
}

// TestBatch_FailFastParallel checks that --fail-fast ends the output with the failed
// item's line when other items ran alongside it; those may have been canceled.
func TestBatch_FailFastParallel(t *testing.T) {
	t.Parallel()
	var in strings.Builder
	for i := range 200 {
		if i == 100 {
			in.WriteString(`[1e308,1e308]` + "\n") // sum_numbers overflows
			continue
		}
		fmt.Fprintf(&in, "[%d]\n", i)
	}
	code, stdout, stderr := cli(t, in.String(), "batch", corePath, "-t", "sum_numbers", "-i", "-", "--fail-fast", "-w", "4")
	require.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "stopped at the first failed item, line 101: ")
	lines := batchLines(t, stdout)
	require.Len(t, lines, 101)
	for i, l := range lines[:100] {
		if l.Error != nil {
			assert.Equal(t, "canceled", l.Error.Kind, "line %d", i+1)
			continue
		}
		assert.Equal(t, fmt.Sprint(i), string(l.Result), "line %d", i+1)
	}
	require.NotNil(t, lines[100].Error)
	assert.Equal(t, "failed", lines[100].Error.Kind)
	assert.Equal(t, "sum_numbers", lines[100].ComputationType)
}

// TestBatch_Large runs 2,000 items (10,000 with -soak) through files, on 2 workers and
// on 1, and checks the results against values computed here, in order.
func TestBatch_Large(t *testing.T) {
	t.Parallel()
	n := 2_000
	if *soak {
		n = 10_000
	}
	dir := t.TempDir()
	input := filepath.Join(dir, "items.jsonl")
	var in bytes.Buffer
	for i := range n {
		fmt.Fprintf(&in, "[%d,%d.5]\n", i, i)
	}
	require.NoError(t, os.WriteFile(input, in.Bytes(), 0o644))

	results := map[int][]json.RawMessage{}
	for _, workers := range []int{2, 1} {
		output := filepath.Join(dir, fmt.Sprintf("out-%d.jsonl", workers))
		start := time.Now()
		code, stdout, stderr := cli(t, "", "batch", corePath, "--type", "sum_numbers",
			"--input", input, "--output", output, "--workers", fmt.Sprint(workers))
		t.Logf("%d items on %d workers: %v", n, workers, time.Since(start))
		require.Equal(t, 0, code, stderr)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, fmt.Sprintf("batch: items %d, failed 0,", n))

		b, err := os.ReadFile(output)
		require.NoError(t, err)
		lines := batchLines(t, string(b))
		require.Len(t, lines, n)
		for i, l := range lines {
			require.Nil(t, l.Error, "line %d", i+1)
			require.Equal(t, fmt.Sprint(float64(i)+float64(i)+0.5), string(l.Result), "line %d", i+1)
			require.Equal(t, workers > 1, l.ParallelExecutionUsed, "line %d", i+1)
			results[workers] = append(results[workers], l.Result)
		}
	}
	assert.Equal(t, results[1], results[2], "the results do not depend on the worker count")
}

func TestProgressLine(t *testing.T) {
	tests := []struct {
		name        string
		done, total int
		elapsed     time.Duration
		want        string
	}{
		{name: "start", total: 10, want: "0/10 items (0%)"},
		{name: "halfway", done: 50, total: 100, elapsed: 2 * time.Second, want: "50/100 items (50%), 25 items/s, ETA 2s"},
		{name: "done", done: 100, total: 100, elapsed: 4 * time.Second, want: "100/100 items (100%), 25 items/s"},
		{name: "no items", want: "0/0 items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, progressLine(tt.done, tt.total, tt.elapsed))
		})
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, isTerminal(f))
	assert.False(t, isTerminal(&bytes.Buffer{}))
}
