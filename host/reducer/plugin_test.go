package reducer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/reducer"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// loadGuest builds (once per machine), warms and loads the Go guest in dir.
func loadGuest(t *testing.T, dir string) *host.Plugin {
	t.Helper()
	return loadGuestWith(t, dir, host.PluginConfig{})
}

// loadGuestWith is loadGuest with a plugin configuration.
func loadGuestWith(t *testing.T, dir string, pc host.PluginConfig) *host.Plugin {
	t.Helper()
	path, err := plugintest.Path(dir)
	require.NoError(t, err)
	require.NoError(t, plugintest.Warm(path))
	h, err := host.New(context.Background(), host.Config{CacheDir: plugintest.CacheDir()})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, h.Close(ctx))
	})
	p, err := h.LoadFile(context.Background(), path, pc)
	require.NoError(t, err)
	return p
}

func TestFoldOf_Counter(t *testing.T) {
	p := loadGuest(t, "plugins/testdata/counter")
	fold, err := reducer.FoldOf(p)
	require.NoError(t, err)
	ctx := context.Background()

	out, err := fold(ctx, abi.ReduceInput{Reduction: "count", Key: "k", Sequence: 1,
		Event: abi.ReduceEvent{EventID: "a", Type: "add", Data: json.RawMessage("4")}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"count":4}`, string(out.State))
	assert.Empty(t, out.Intents)

	out, err = fold(ctx, abi.ReduceInput{Reduction: "sum", Key: "k", Sequence: 2, State: out.State,
		Event: abi.ReduceEvent{EventID: "b", Type: "add", Data: json.RawMessage("6")}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"count":10}`, string(out.State))

	_, err = fold(ctx, abi.ReduceInput{Reduction: "count", Key: "k", Sequence: 3, State: out.State,
		Event: abi.ReduceEvent{EventID: "c", Type: "add", Data: json.RawMessage("-1")}})
	require.ErrorIs(t, err, host.ErrFailed)
	var pe *host.PluginError
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, "negative", pe.Code)

	// Two reductions: an empty one names none.
	_, err = fold(ctx, abi.ReduceInput{Key: "k", Sequence: 3, Event: abi.ReduceEvent{EventID: "d", Type: "add"}})
	require.ErrorIs(t, err, host.ErrUnknownComputation)
}

func TestFoldOf_RefusesOtherKinds(t *testing.T) {
	p := loadGuest(t, "plugins/testdata/goecho")
	_, err := reducer.FoldOf(p)
	require.ErrorIs(t, err, host.ErrUnsupported)
}

// TestFoldOf_ExtismReducerOutputIsStrict: an Extism plugin becomes a reducer through its
// node description, and output that is not a reduce output (here the echoed input) is
// refused as invalid output, not applied.
func TestFoldOf_ExtismReducerOutputIsStrict(t *testing.T) {
	p := loadGuestWith(t, "plugins/testdata/extismecho", host.PluginConfig{Extism: host.ExtismConfig{
		Node: &host.ExtismNode{Name: "echo-reducer", Kind: abi.KindReducer, Computations: []host.ExtismComputation{{Name: "echo"}}},
	}})
	require.Equal(t, abi.KindReducer, p.Manifest().Kind)
	fold, err := reducer.FoldOf(p)
	require.NoError(t, err)
	_, err = fold(context.Background(), abi.ReduceInput{Key: "k", Sequence: 1, Event: abi.ReduceEvent{EventID: "a", Type: "t"}})
	require.ErrorIs(t, err, host.ErrInvalidOutput)
	require.ErrorIs(t, err, abi.ErrInvalidEnvelope)
	assert.ErrorContains(t, err, `unknown field "reduction"`)
}

// TestNode_WithAPluginFold: the counter guest behind a Node and a store — the plugin
// folds, the host owns the state: ten events give the sum and one intent (the 10th), a
// redelivered id changes nothing, a failing event is dead-lettered with the state kept.
func TestNode_WithAPluginFold(t *testing.T) {
	p := loadGuest(t, "plugins/testdata/counter")
	fold, err := reducer.FoldOf(p)
	require.NoError(t, err)
	store, err := reducer.OpenStore(t.TempDir()+"/reducers.db", reducer.Config{})
	require.NoError(t, err)
	defer store.Close()
	node, err := reducer.NewNode("counter", "count", fold, store)
	require.NoError(t, err)
	ctx := context.Background()

	var intents int
	for i := 1; i <= 10; i++ {
		r, err := node.Apply(ctx, "cart-1", abi.ReduceEvent{EventID: fmt.Sprintf("e%d", i), Type: "add",
			Data: json.RawMessage(strconv.Itoa(i))})
		require.NoError(t, err)
		assert.Equal(t, uint64(i), r.Sequence)
		intents += len(r.Intents)
	}
	assert.Equal(t, 1, intents, "the counter asks for one intent on its 10th event")
	r, err := node.Apply(ctx, "cart-1", abi.ReduceEvent{EventID: "e3", Type: "add", Data: json.RawMessage("3")})
	require.NoError(t, err)
	assert.True(t, r.Duplicate)
	assert.JSONEq(t, `{"count":55}`, string(r.State), "1+…+10, the redelivery changed nothing")

	_, err = node.Apply(ctx, "cart-1", abi.ReduceEvent{EventID: "bad", Type: "add", Data: json.RawMessage("-1")})
	require.ErrorIs(t, err, reducer.ErrFold)
	dead, err := store.DeadLetters("counter")
	require.NoError(t, err)
	require.Len(t, dead, 1)
	r, err = node.Apply(ctx, "cart-1", abi.ReduceEvent{EventID: "e11", Type: "add", Data: json.RawMessage("0")})
	require.NoError(t, err)
	assert.Equal(t, uint64(11), r.Sequence, "the failed event took no sequence")
	assert.JSONEq(t, `{"count":55}`, string(r.State))
}
