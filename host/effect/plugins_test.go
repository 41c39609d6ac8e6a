package effect_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/effect"
	"github.com/onexhost/onex-host/host/internal/hosttest"
)

func TestFileops_ApplyIsAllOrNothing(t *testing.T) {
	h := effectHost(t)
	dir := t.TempDir()
	p := hosttest.LoadGo(t, h, "plugins/fileops", host.PluginConfig{Grants: host.Grants{Paths: []host.PathGrant{{Dir: dir}}}})
	n, err := effect.New(p, effect.Config{})
	require.NoError(t, err)
	ctx := context.Background()
	keep := filepath.Join(dir, "keep.txt")
	require.NoError(t, os.WriteFile(keep, []byte("original"), 0o644))

	apply := func(ops ...map[string]any) (abi.EffectOutput, error) {
		data, err := json.Marshal(map[string]any{"operations": ops})
		require.NoError(t, err)
		return n.Process(ctx, abi.EffectInput{EffectType: "apply", OperationData: data})
	}
	// The third operation fails (its source does not exist): the first two are undone.
	out, err := apply(
		map[string]any{"op": "mkdir", "path": filepath.Join(dir, "sub", "deeper"), "parents": true},
		map[string]any{"op": "write", "path": keep, "content": "changed"},
		map[string]any{"op": "move", "from": filepath.Join(dir, "absent"), "to": filepath.Join(dir, "x")},
	)
	require.ErrorIs(t, err, host.ErrFailed)
	var pe *host.PluginError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "not_found", pe.Code, "the capability's error code reaches the caller")
	assert.Equal(t, abi.TransactionRolledBack, out.TransactionState)
	assert.Equal(t, 3, out.SideEffectsApplied, "two directories and one write")
	b, err := os.ReadFile(keep)
	require.NoError(t, err)
	assert.Equal(t, "original", string(b))
	assert.NoDirExists(t, filepath.Join(dir, "sub"))

	out, err = apply(
		map[string]any{"op": "write", "path": filepath.Join(dir, "a.txt"), "content": "A"},
		map[string]any{"op": "copy", "from": filepath.Join(dir, "a.txt"), "to": filepath.Join(dir, "b.txt")},
		map[string]any{"op": "delete", "path": keep},
	)
	require.NoError(t, err)
	assert.JSONEq(t, `{"applied":3}`, string(out.Result))
	assert.NoFileExists(t, keep)
	b, err = os.ReadFile(filepath.Join(dir, "b.txt"))
	require.NoError(t, err)
	assert.Equal(t, "A", string(b))

	data, _ := json.Marshal(map[string]string{"path": dir})
	out, err = n.Process(ctx, abi.EffectInput{EffectType: "list", OperationData: data})
	require.NoError(t, err)
	var list struct{ Entries []abi.FSEntry }
	require.NoError(t, json.Unmarshal(out.Result, &list))
	var names []string
	for _, e := range list.Entries {
		names = append(names, e.Name)
	}
	assert.Equal(t, []string{"a.txt", "b.txt"}, names)
}

func TestHTTPCall_CompensatesWhenTheEffectFails(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"id":"u-1"}}`))
	}))
	defer srv.Close()
	h := effectHost(t)
	p := hosttest.LoadGo(t, h, "plugins/httpcall", host.PluginConfig{Grants: host.Grants{Hosts: []string{"127.0.0.1"}}})
	n, err := effect.New(p, effect.Config{})
	require.NoError(t, err)
	call := func(extract string) (abi.EffectOutput, error) {
		data, err := json.Marshal(map[string]any{
			"method": "POST", "url": srv.URL + "/users/{{name}}", "params": map[string]string{"name": "ada"},
			"extract":    map[string]string{"id": extract},
			"compensate": map[string]string{"method": "DELETE", "url": srv.URL + "/users/{{name}}"},
		})
		require.NoError(t, err)
		return n.Process(context.Background(), abi.EffectInput{EffectType: "call", OperationData: data})
	}
	out, err := call("data.id")
	require.NoError(t, err)
	assert.JSONEq(t, `{"status":200,"fields":{"id":"u-1"}}`, string(out.Result))
	assert.Equal(t, []string{"POST /users/ada"}, calls)

	// The request succeeds but the effect fails (the field is missing): the host sends the
	// compensating request.
	out, err = call("data.missing")
	require.ErrorIs(t, err, host.ErrFailed)
	assert.Equal(t, abi.TransactionRolledBack, out.TransactionState)
	require.Len(t, out.RollbackOperations, 1)
	assert.Equal(t, "compensated", out.RollbackOperations[0].Outcome)
	assert.Equal(t, []string{"POST /users/ada", "POST /users/ada", "DELETE /users/ada"}, calls)
}
