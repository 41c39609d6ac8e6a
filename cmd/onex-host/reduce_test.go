package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReduce folds a JSONL file into one key with the counter reducer: the printed state
// is the sum, redelivered ids are duplicates, the 10th event's intent is listed, the state
// continues in --data-dir across runs, and bad input or a failing fold exit as documented.
func TestReduce(t *testing.T) {
	t.Parallel()
	counter := goPlugin(t, "plugins/testdata/counter")
	var lines []string
	for i := 1; i <= 10; i++ {
		lines = append(lines, fmt.Sprintf(`{"event_id":"e%d","type":"add","data":%d}`, i, i))
	}
	lines = append(lines, "", `{"event_id":"e3","type":"add","data":3}`) // a blank line, a redelivery
	events := filepath.Join(t.TempDir(), "events.jsonl")
	require.NoError(t, os.WriteFile(events, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	dataDir := t.TempDir()
	reduce := func(stdin string, args ...string) (int, string, string) {
		return cli(t, stdin, append([]string{"reduce", counter, "--cache-dir", cacheDir}, args...)...)
	}
	type result struct {
		Key        string          `json:"key"`
		Sequence   uint64          `json:"sequence"`
		State      json.RawMessage `json:"state"`
		Applied    int             `json:"applied"`
		Duplicates int             `json:"duplicates"`
		Intents    []struct {
			OperationID string `json:"operation_id"`
		} `json:"intents"`
	}

	code, out, errs := reduce("", "--key", "cart", "--events", events, "--data-dir", dataDir)
	require.Equal(t, exitOK, code, errs)
	var r result
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	assert.Equal(t, "cart", r.Key)
	assert.Equal(t, uint64(10), r.Sequence)
	assert.JSONEq(t, `{"count":55}`, string(r.State))
	assert.Equal(t, 10, r.Applied)
	assert.Equal(t, 1, r.Duplicates)
	require.Len(t, r.Intents, 1)
	assert.Equal(t, "reduce:counter:cart:10:0", r.Intents[0].OperationID)

	// A second run on the same data directory continues the key; the old ids are duplicates.
	code, out, errs = reduce(`{"event_id":"e1","type":"add","data":1}`+"\n"+`{"event_id":"e11","type":"add","data":5}`,
		"--key", "cart", "--events", "-", "--data-dir", dataDir, "--reduction", "sum")
	require.Equal(t, exitOK, code, errs)
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	assert.Equal(t, uint64(11), r.Sequence)
	assert.JSONEq(t, `{"count":60}`, string(r.State))
	assert.Equal(t, 1, r.Duplicates)

	for _, c := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		err   string
	}{
		{"no key", "", []string{"--events", events}, exitMisuse, "--key is required"},
		{"no events", "", []string{"--key", "k"}, exitMisuse, "--events is required"},
		{"unknown field", `{"event_id":"1","type":"add","data":1,"x":1}`, []string{"--key", "k", "--events", "-"}, exitMisuse, "line 1"},
		{"unknown reduction", "", []string{"--key", "k", "--events", events, "--reduction", "nope"}, exitMisuse, "no such reduction"},
		{"failing fold", `{"event_id":"1","type":"add","data":2}` + "\n" + `{"event_id":"2","type":"add","data":-1}`,
			[]string{"--key", "k", "--events", "-"}, exitFailure, "event 2 (2)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := reduce(c.stdin, c.args...)
			assert.Equal(t, c.code, code, errs)
			assert.Contains(t, errs, c.err)
		})
	}
}

// TestReduce_FSM folds events with an FSM contract instead of a plugin: the state is the
// machine's, the projection carries the FSM metadata of the last event, and --fsm with a
// plugin too is misuse.
func TestReduce_FSM(t *testing.T) {
	t.Parallel()
	contract := filepath.Join("..", "..", "host", "reducer", "fsm", "testdata", "order.yaml")
	events := filepath.Join(t.TempDir(), "events.jsonl")
	require.NoError(t, os.WriteFile(events, []byte(
		`{"event_id":"1","type":"pay","data":{"amount":5,"currency":"EUR"}}`+"\n"+
			`{"event_id":"2","type":"ship","data":{"tracking":"TR-7"}}`+"\n"), 0o644))
	code, out, errOut := cli(t, "", "reduce", "--fsm", contract, "--key", "o1", "--events", events)
	require.Equal(t, 0, code, errOut)
	var res struct {
		Key        string          `json:"key"`
		Sequence   uint64          `json:"sequence"`
		Applied    int             `json:"applied"`
		State      json.RawMessage `json:"state"`
		Projection map[string]any  `json:"projection"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	assert.Equal(t, "o1", res.Key)
	assert.Equal(t, uint64(2), res.Sequence)
	assert.Equal(t, 2, res.Applied)
	assert.Contains(t, string(res.State), `"shipped"`)
	assert.Equal(t, "shipped", res.Projection["fsm_state"])
	assert.Equal(t, "paid", res.Projection["fsm_previous_state"])
	assert.Equal(t, true, res.Projection["fsm_transition_success"])
	assert.Equal(t, "ship", res.Projection["fsm_transition_name"])

	code, _, errOut = cli(t, "", "reduce", "plugin.wasm", "--fsm", contract, "--key", "o1", "--events", events)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "exclusive")
	code, _, errOut = cli(t, "", "reduce", "--fsm", "nope.yaml", "--key", "o1", "--events", events)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--fsm")
}
