package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// The whole example: the FSM's outcomes, and the files fileops wrote and deleted.
func TestRun(t *testing.T) {
	fileops := plugintest.Built(t, "plugins/fileops")
	dir := t.TempDir()
	var out bytes.Buffer
	cfg := host.NewConfig().WithCacheDir(plugintest.CacheDir())
	require.NoError(t, run(context.Background(), cfg, fileops, dir, &out))
	assert.Equal(t, `A-1 place   #1 cart -> placed
A-1 pay     #2 placed -> placed refused: conditions failed: pays_something
A-1 pay     #3 placed -> paid (1 intent)
B-2 place   #1 cart -> placed
A-1 pay     #3 duplicate of event a3: nothing changed
B-2 pay     #2 placed -> paid (1 intent)
A-1 ship    #4 paid -> shipped (1 intent)
B-2 cancel  #3 paid -> cancelled (1 intent)
A-1 deliver #5 shipped -> delivered (1 intent)
A-1 cancel  #6 delivered -> delivered refused: state "delivered" is terminal: it accepts no events
A-1-receipt.txt: order A-1: paid 30 EUR
B-2-receipt.txt: order B-2: paid 12 USD
B-2-refund.txt: order B-2: refund 12 USD
`, out.String())
	_, err := os.Stat(filepath.Join(dir, "files", "A-1-label.txt"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the label written on ship is deleted on deliver")
}

// Paths in operation data are rooted at the output directory and may not leave it.
func TestRooted(t *testing.T) {
	got, err := rooted([]byte(`{"path":"a.txt","content":"x"}`), "/out")
	require.NoError(t, err)
	assert.JSONEq(t, `{"path":"/out/a.txt","content":"x"}`, string(got))
	_, err = rooted([]byte(`{"path":"../etc/passwd"}`), "/out")
	assert.EqualError(t, err, `operation data: path "../etc/passwd" is not a local path`)
}
