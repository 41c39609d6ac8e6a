package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

func TestHost_Load(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	ctx := context.Background()
	tests := []struct {
		name    string
		fixture string
		want    error
		message string // a phrase the error must contain
	}{
		{name: "not wasm", fixture: "notwasm.txt", want: host.ErrInvalidModule, message: "not a WebAssembly binary module"},
		{name: "command module", fixture: "wat/command.wasm", want: host.ErrCommandModule, message: "-buildmode=c-shared"},
		{name: "wrong ABI version", fixture: "wat/abiv2.wasm", want: host.ErrABIVersion, message: "declares ABI version 2"},
		{name: "unknown import", fixture: "wat/badimport.wasm", want: host.ErrUnknownImport, message: "env.host_secret"},
		{name: "missing allocator", fixture: "wat/noalloc.wasm", want: host.ErrInvalidModule, message: "onex_alloc"},
		{name: "invalid manifest", fixture: "wat/manifestbad.wasm", want: host.ErrInvalidManifest, message: `kind "unknown"`},
		{name: "truncated module", fixture: "truncated", want: host.ErrInvalidModule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var wasm []byte
			if tt.fixture == "truncated" {
				wasm = plugintest.Fixture(t, "wat/echo.wasm")
				wasm = wasm[:len(wasm)/2]
			} else {
				wasm = plugintest.Fixture(t, tt.fixture)
			}
			p, err := h.Load(ctx, wasm, host.PluginConfig{})
			require.Error(t, err)
			assert.Nil(t, p)
			require.ErrorIs(t, err, tt.want)
			var pe *host.PluginError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "load", pe.Op)
			assert.Contains(t, err.Error(), tt.message)
		})
	}
}

func TestHost_LoadFile(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "echo.wasm")
	require.NoError(t, os.WriteFile(path, plugintest.Fixture(t, "wat/echo.wasm"), 0o644))
	p, err := h.LoadFile(ctx, path, host.PluginConfig{})
	require.NoError(t, err)
	assert.Equal(t, "echo", p.Name())
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, p.Digest())
	assert.Contains(t, p.Exports(), abi.ExportCompute)
	assert.Equal(t, []string{"onex.log"}, p.Imports())

	// A missing file is the file system's error, not an invalid module.
	_, err = h.LoadFile(ctx, filepath.Join(t.TempDir(), "missing.wasm"), host.PluginConfig{})
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.NotErrorIs(t, err, host.ErrInvalidModule)
	assert.Contains(t, err.Error(), "missing.wasm")

	// A memory minimum over the memory limit is ErrMemoryLimit naming both (a standard-Go
	// module declares more than 1 MiB).
	for _, exec := range []host.Execution{host.ExecutionMetered, host.ExecutionGuarded} {
		_, err = h.LoadFile(ctx, goPluginPaths["plugins/core"], host.PluginConfig{MemoryLimit: 1 << 20, Execution: exec})
		require.ErrorIs(t, err, host.ErrMemoryLimit, "%s", exec)
		assert.NotErrorIs(t, err, host.ErrInvalidModule)
		assert.Regexp(t, `memory minimum of \d+ KiB \(\d+ pages\), over the memory limit of 1 MiB \(16 pages\)`, err.Error())
	}
}

// TestHost_LoadManifestSection checks that a manifest custom section is preferred to the
// onex_manifest export, and validated like it.
func TestHost_LoadManifestSection(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	ctx := context.Background()
	echo := plugintest.Fixture(t, "wat/echo.wasm")
	m := abi.Manifest{Name: "echo-sectioned", Version: "2.0.0", Kind: abi.KindCompute,
		Computations: []abi.Computation{{Name: "default"}, {Name: "length"}, {Name: "missing"}}}
	section, err := json.Marshal(m)
	require.NoError(t, err)

	p, err := h.Load(ctx, abi.AppendCustomSection(append([]byte(nil), echo...), abi.ManifestSection, section), host.PluginConfig{})
	require.NoError(t, err)
	assert.Equal(t, "echo-sectioned", p.Name())
	assert.Equal(t, "2.0.0", p.Manifest().Version)

	// The section promises a computation the guest lacks: the guest's own status 2 comes
	// back as ErrUnknownComputation with its message.
	_, err = p.Call(ctx, "missing", []byte("null"))
	require.ErrorIs(t, err, host.ErrUnknownComputation)
	var pe *host.PluginError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, abi.StatusUnknownComputation, pe.Status)
	assert.Equal(t, "unknown_computation", pe.Code)

	bad := abi.AppendCustomSection(append([]byte(nil), echo...), abi.ManifestSection, []byte(`{"name":"x"}`))
	_, err = h.Load(ctx, bad, host.PluginConfig{})
	require.ErrorIs(t, err, host.ErrInvalidManifest)
	require.ErrorIs(t, err, abi.ErrInvalidManifest)
}

func TestHost_LoadCapabilityDenied(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	m := abi.Manifest{Name: "wants-fs", Version: "1", Kind: abi.KindCompute,
		Computations: []abi.Computation{{Name: "default"}}, Capabilities: []abi.Capability{abi.CapabilityFS}}
	section, err := json.Marshal(m)
	require.NoError(t, err)
	wasm := abi.AppendCustomSection(plugintest.Fixture(t, "wat/echo.wasm"), abi.ManifestSection, section)
	_, err = h.Load(context.Background(), wasm, host.PluginConfig{})
	require.ErrorIs(t, err, host.ErrCapabilityDenied)
	assert.Contains(t, err.Error(), "fs")
}

func TestHost_Close(t *testing.T) {
	before := runtime.NumGoroutine()
	h, _ := newHost(t, host.NewConfig())
	ctx := context.Background()
	p, err := h.Load(ctx, plugintest.Fixture(t, "wat/echo.wasm"), host.PluginConfig{})
	require.NoError(t, err)
	require.NoError(t, h.Close(ctx))
	require.NoError(t, h.Close(ctx), "Close is idempotent")

	_, err = p.Call(ctx, "default", []byte("1"))
	require.ErrorIs(t, err, host.ErrClosed)
	_, err = h.Load(ctx, plugintest.Fixture(t, "wat/echo.wasm"), host.PluginConfig{})
	require.True(t, errors.Is(err, host.ErrClosed), "got %v", err)

	// The watchdog and the janitor are gone: no goroutine outlives the host. (Polled by
	// hand: require.Eventually runs goroutines of its own.)
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), before, "goroutines left after Close:\n%s", stacks())
}

func stacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}
