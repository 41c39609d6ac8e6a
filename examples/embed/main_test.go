package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

func TestRun(t *testing.T) {
	core := plugintest.Built(t, "plugins/core")
	var out bytes.Buffer
	cfg := host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithMaxInstances(4)
	require.NoError(t, run(context.Background(), cfg, core, &out))
	assert.Contains(t, out.String(), "sum of [0 0 0] = 0\n")
	assert.Contains(t, out.String(), "sum of [7 70 700] = 777\n")
	assert.Regexp(t, `core 1\.0\.0: 8 calls served by [1-4] instances`, out.String())
}
