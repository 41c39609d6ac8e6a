package main

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// TestFulfil runs the README's commands: the example's own files (contract, FSM, config)
// in a copy of the repository's layout, the plugins and the CLI built from this
// checkout, the shop's API in this process. A-1 is fulfilled: its invoice is written, its
// stock reserved, the reducer records the shipment; B-2's shipment is refused, and the
// saga releases its stock and deletes its invoice.
func TestFulfil(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	plugins := filepath.Join(root, "bin", "plugins")
	require.NoError(t, os.MkdirAll(plugins, 0o755))
	for _, p := range []string{"core", "fileops", "httpcall"} {
		path, err := plugintest.Path("plugins/" + p)
		require.NoError(t, err)
		require.NoError(t, os.Symlink(path, filepath.Join(plugins, p+".wasm")))
	}
	bin := filepath.Join(root, "bin", "onex-host")
	require.NoError(t, plugintest.BuildCLI(bin))
	example := filepath.Join(root, "examples", "fulfil")
	out := filepath.Join(example, "var", "out")
	require.NoError(t, os.MkdirAll(out, 0o755))
	for _, f := range []string{"fulfil.yaml", "fulfilment.fsm.yaml", "onex.yaml"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(example, f), b, 0o644))
	}
	var shopLog lockedBuffer
	s := newShop(&shopLog)
	api := httptest.NewServer(s.Handler())
	t.Cleanup(api.Close)

	fulfil := func(id string) (int, string, string) {
		in := fmt.Sprintf(`{"order_id":%q,"api":%q,"dir":%q}`, id, api.URL, out)
		cmd := exec.Command(bin, "workflow", "run", "examples/fulfil/fulfil.yaml", "--config", "examples/fulfil/onex.yaml",
			"--data-dir", "examples/fulfil/var/data", "--id", id, "--input", in)
		cmd.Dir = root
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return code, stdout.String(), stderr.String()
	}

	code, stdout, stderr := fulfil("A-1")
	require.Equal(t, 0, code, stderr)
	assert.JSONEq(t, `{"order":"A-1","total":30,"tracking":"TR-1001","fulfilment":{"current_state":"shipped",
		"previous_state":"open","last_transition":"ship","transitions":1,"context":{"total":30,"tracking":"TR-1001"}}}`, stdout)
	b, err := os.ReadFile(filepath.Join(out, "A-1-invoice.txt"))
	require.NoError(t, err)
	assert.Equal(t, "order A-1: 30 EUR\n", string(b))
	assert.Equal(t, []string{"A-1"}, s.reservations())

	code, stdout, stderr = fulfil("B-2")
	assert.Equal(t, 1, code, stderr)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "workflow B-2 failed")
	assert.Contains(t, stderr, "the carrier does not deliver to Atlantis")
	assert.NoFileExists(t, filepath.Join(out, "B-2-invoice.txt"), "the saga deleted the invoice")
	assert.Equal(t, []string{"A-1"}, s.reservations(), "the saga released B-2's stock")
	assert.Contains(t, shopLog.String(), "shop: POST /shipments/B-2 → 422\nshop: POST /stock/B-2/release → 200\n")

	// Asked again, a workflow that ended answers its end again: nothing runs twice.
	code, again, stderr := fulfil("A-1")
	require.Equal(t, 0, code, stderr)
	assert.JSONEq(t, `{"order":"A-1","total":30,"tracking":"TR-1001","fulfilment":{"current_state":"shipped",
		"previous_state":"open","last_transition":"ship","transitions":1,"context":{"total":30,"tracking":"TR-1001"}}}`, again)
	assert.Equal(t, 1, strings.Count(shopLog.String(), "POST /shipments/A-1"), "shipped once")
}

// lockedBuffer is a bytes.Buffer the shop's handlers write while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }
