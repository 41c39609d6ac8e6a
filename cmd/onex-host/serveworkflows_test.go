package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/orchestrator"
	"github.com/onexhost/onex-host/host/server"
)

// stubEngine is a workflowEngine whose only working parts are Subscribe and Close.
type stubEngine struct {
	server.Workflows
	subscribed, closed atomic.Int32
}

func (s *stubEngine) Subscribe(int) (<-chan orchestrator.Event, func()) {
	s.subscribed.Add(1)
	return make(chan orchestrator.Event), func() {}
}

func (s *stubEngine) Close() error { s.closed.Add(1); return nil }

// TestOpenWorkflows: serve opens the engine only when there is a workflow, in
// <data_dir>/workflows.db with the contracts' definitions and the server as runner,
// attaches it and closes it; a contract naming a node not loaded, or a build without
// the engine, is refused.
func TestOpenWorkflows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir("").WithDataDir("").WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer h.Close(ctx)
	srv := server.New(h, server.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, srv.Load(ctx, nil))
	logger := slog.New(slog.DiscardHandler)
	dir := t.TempDir()

	sw, err := orchestration{}.openWorkflows(dir, nil, srv, false, logger)
	require.NoError(t, err)
	assert.Nil(t, sw) // nothing to run: no engine, no file
	_, err = orchestration{}.openWorkflows(dir, []string{"order.yaml"}, srv, false, logger)
	require.ErrorIs(t, err, errNoEngine)

	stub := &stubEngine{}
	var openedAt string
	var openedWith []orchestrator.Definition
	o := orchestration{
		open: func(path string, defs []orchestrator.Definition, runner orchestrator.Runner, _ *slog.Logger) (workflowEngine, error) {
			openedAt, openedWith = path, defs
			assert.Same(t, srv, runner)
			return stub, nil
		},
		load: func(path string) (orchestrator.Definition, []string, error) {
			if path == "needs-core.yaml" {
				return orchestrator.Definition{Name: "c"}, []string{"core"}, nil
			}
			return orchestrator.Definition{Name: "order"}, nil, nil
		},
	}
	_, err = o.openWorkflows(dir, []string{"needs-core.yaml"}, srv, false, logger)
	require.ErrorContains(t, err, `no node named "core"`)
	sw, err = o.openWorkflows(dir, []string{"needs-core.yaml"}, srv, true, logger) // another host may serve it
	require.NoError(t, err)
	sw.close(logger)
	assert.Equal(t, int32(1), stub.closed.Load())

	sw, err = o.openWorkflows(dir, []string{"order.yaml"}, srv, false, logger)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, workflowsFile), openedAt)
	require.Len(t, openedWith, 1)
	assert.Equal(t, "order", openedWith[0].Name)
	sw.close(logger) // waits for RunWorkflows, which subscribes first
	assert.Equal(t, int32(2), stub.subscribed.Load())
	assert.Equal(t, int32(2), stub.closed.Load())
}
