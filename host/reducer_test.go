package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// reduce calls the reducer p's reduction with in, as the host's reducer store does, and
// decodes the output strictly.
func reduce(t *testing.T, p *host.Plugin, reduction string, in abi.ReduceInput) (abi.ReduceOutput, error) {
	t.Helper()
	b, err := json.Marshal(in)
	require.NoError(t, err)
	out, err := p.Call(context.Background(), reduction, b)
	if err != nil {
		return abi.ReduceOutput{}, err
	}
	o, err := abi.DecodeReduceOutput(out)
	require.NoError(t, err, "output %s", out)
	return o, nil
}

// TestReducer_NativeGuestFolds: a reducer built with the SDK loads as kind reducer, runs
// through onex_reduce, folds a key's events, emits its intent on the 10th and fails on a
// negative number with the guest's code.
func TestReducer_NativeGuestFolds(t *testing.T) {
	h, _ := newHost(t, host.Config{})
	p := loadGo(t, h, "plugins/testdata/counter", host.PluginConfig{})
	m := p.Manifest()
	assert.Equal(t, abi.KindReducer, m.Kind)
	assert.Contains(t, p.Exports(), abi.ExportReduce)
	entry, ok := p.Entry("count")
	require.True(t, ok)
	assert.Equal(t, abi.ExportReduce, entry.Export)

	state := json.RawMessage("null")
	want := int64(0)
	for seq := uint64(1); seq <= 10; seq++ {
		out, err := reduce(t, p, "count", abi.ReduceInput{Reduction: "count", Key: "k:1", Sequence: seq, State: state,
			Event: abi.ReduceEvent{EventID: "e" + strconv.FormatUint(seq, 10), Type: "add", Data: json.RawMessage(strconv.FormatUint(seq, 10))}})
		require.NoError(t, err)
		want += int64(seq)
		assert.JSONEq(t, `{"count":`+strconv.FormatInt(want, 10)+`}`, string(out.State))
		state = out.State
		if seq < 10 {
			assert.Empty(t, out.Intents, "sequence %d", seq)
			continue
		}
		require.Len(t, out.Intents, 1)
		assert.Equal(t, "fileops", out.Intents[0].Node)
		assert.Equal(t, "write", out.Intents[0].EffectType)
		assert.JSONEq(t, `{"path":"counts/k:1","content":"55\n","parents":true}`, string(out.Intents[0].OperationData))
	}

	_, err := reduce(t, p, "count", abi.ReduceInput{Reduction: "count", Key: "k:1", Sequence: 11, State: state,
		Event: abi.ReduceEvent{EventID: "neg", Type: "add", Data: json.RawMessage("-3")}})
	require.ErrorIs(t, err, host.ErrFailed)
	var pe *host.PluginError
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, "negative", pe.Code)

	// Input that is not a ReduceInput is refused by the guest as invalid input.
	_, err = p.Call(context.Background(), "count", []byte(`{"state":null}`))
	require.ErrorIs(t, err, host.ErrInvalidInput)
	_, err = p.Call(context.Background(), "nope", []byte(`{}`))
	require.ErrorIs(t, err, host.ErrUnknownComputation)
}

// TestReducer_ExtismNodeKind: an Extism node description may declare kind reducer, whose
// reductions are JSON both ways; other kinds and other encodings are refused.
func TestReducer_ExtismNodeKind(t *testing.T) {
	n, err := host.DecodeExtismNode([]byte("kind: reducer\ncomputations:\n  - name: fold\n    export: fold_fn\n"))
	require.NoError(t, err)
	assert.Equal(t, abi.KindReducer, n.Kind)
	for name, in := range map[string]string{
		"effect kind":   "kind: effect\n",
		"text encoding": "kind: reducer\ncomputations:\n  - name: fold\n    encoding: text\n",
		"base64 output": "kind: reducer\ncomputations:\n  - name: fold\n    output: base64\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := host.DecodeExtismNode([]byte(in))
			assert.ErrorIs(t, err, host.ErrInvalidManifest)
		})
	}
}

// TestReducer_LoadNeedsOnexReduce: a module whose manifest says reducer but that does not
// export onex_reduce (echo.wat with its kind changed; same length, so the module stays
// valid) is refused at load.
func TestReducer_LoadNeedsOnexReduce(t *testing.T) {
	h, _ := newHost(t, host.Config{})
	wasm := plugintest.Fixture(t, "wat/echo.wasm")
	from, to := []byte(`"kind":"compute"`), []byte(`"kind":"reducer"`)
	require.Equal(t, 1, bytes.Count(wasm, from))
	_, err := h.Load(context.Background(), bytes.Replace(wasm, from, to, 1), host.PluginConfig{})
	require.ErrorIs(t, err, host.ErrInvalidModule)
	assert.ErrorContains(t, err, "a reducer node must export onex_reduce")
}
