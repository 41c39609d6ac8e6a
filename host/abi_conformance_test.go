package host_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/effect"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// executions are the modes a native plugin runs in; the load checks hold in both.
var executions = []host.Execution{host.ExecutionMetered, host.ExecutionGuarded}

// The TestABI_ tests check the host against abi/SPEC.md, one rule each, with the
// hand-written fixtures of plugins/testdata/wat that break exactly that rule.

// TestABI_UnknownStatus: SPEC.md section 3, "Treat an unknown non-zero code as
// internal"; an error payload without a code gets the status name as its code.
func TestABI_UnknownStatus(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	p := loadFixture(t, h, "wat/status99.wasm", host.PluginConfig{})
	for i := range 2 {
		_, err := p.Call(context.Background(), "default", []byte(`null`))
		require.Error(t, err)
		var pe *host.PluginError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, abi.StatusInternal, pe.Status)
		assert.Equal(t, "internal", pe.Code)
		assert.Contains(t, pe.Message, "status99: oops", "the guest's message is kept")
		assert.Contains(t, pe.Message, "99", "the status the guest returned is named")
		require.ErrorIs(t, err, host.ErrFailed)
		assert.False(t, pe.Retryable)
		// A status is an ordinary error, not a trap: the instance is kept.
		assert.Equal(t, uint64(0), p.Stats().Discarded, "call %d", i)
		assert.Equal(t, uint64(1), p.Stats().Created, "call %d", i)
	}
}

// TestABI_OutputOutsideMemory: SPEC.md section 2 (a pair is valid when pointer + length
// is at most the memory size, without wrap-around) and section 4 (a guest that passes
// wild pointers is discarded): an output far outside memory is out of bounds, whatever
// its length, and the instance is never reused.
func TestABI_OutputOutsideMemory(t *testing.T) {
	for _, fixture := range []string{"wat/wildout.wasm", "wat/badout.wasm"} {
		for _, ex := range executions {
			t.Run(fixture+"/"+string(ex), func(t *testing.T) {
				h, _ := newHost(t, host.NewConfig().WithMaxOutputBytes(1<<20))
				p := loadFixture(t, h, fixture, host.PluginConfig{Execution: ex})
				for i := range 2 {
					_, err := p.Call(context.Background(), "default", []byte(`null`))
					require.ErrorIs(t, err, host.ErrOutOfBounds)
					assert.NotErrorIs(t, err, host.ErrOutputTooLarge)
					assert.Contains(t, err.Error(), "outside guest memory")
					assert.Equal(t, uint64(i+1), p.Stats().Discarded, "the instance is discarded")
					assert.Equal(t, uint64(i+1), p.Stats().Created, "every call runs on a fresh instance")
				}
			})
		}
	}
}

// TestABI_LoadRefused: modules that break a load-time rule of SPEC.md are refused by
// Load, before any call, with the sentinel and a message naming the fault (never a
// "guest trapped" carrying the runtime's own text).
func TestABI_LoadRefused(t *testing.T) {
	echo := func(t *testing.T) []byte { return plugintest.Fixture(t, "wat/echo.wasm") }
	section := func(t *testing.T, name string) []byte {
		b, err := json.Marshal(abi.Manifest{Name: name, Version: "1", Kind: abi.KindCompute,
			Computations: []abi.Computation{{Name: "default"}}})
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name    string
		module  func(t *testing.T) []byte
		want    error
		message []string // phrases the error must contain
	}{
		{
			name:    "ABI marker with a parameter (section 2)",
			module:  func(t *testing.T) []byte { return plugintest.Fixture(t, "wat/badmarker.wasm") },
			want:    host.ErrInvalidModule,
			message: []string{"onex_abi_v1", "(i32) -> ()", "want () -> ()"},
		},
		{
			name:    "onex.log imported with the wrong type (section 4)",
			module:  func(t *testing.T) []byte { return plugintest.Fixture(t, "wat/badlogsig.wasm") },
			want:    host.ErrUnknownImport,
			message: []string{"onex.log", "(i32, i32) -> (i32)", "(i32, i32, i32) -> (i32)"},
		},
		{
			name:    "a WASI global imported (section 1)",
			module:  func(t *testing.T) []byte { return plugintest.Fixture(t, "wat/wasiglobal.wasm") },
			want:    host.ErrUnknownImport,
			message: []string{"global", "wasi_snapshot_preview1.environ"},
		},
		{
			name:    "onex_alloc returns 0 at load (section 2)",
			module:  func(t *testing.T) []byte { return plugintest.Fixture(t, "wat/alloczero.wasm") },
			want:    host.ErrInvalidModule,
			message: []string{"onex_alloc(8) returned 0"},
		},
		{
			name:    "onex_alloc returns a buffer running past the end of memory (section 2)",
			module:  func(t *testing.T) []byte { return plugintest.Fixture(t, "wat/allocedge.wasm") },
			want:    host.ErrOutOfBounds,
			message: []string{"onex_alloc(8) returned 0xfffc", "outside guest memory"},
		},
		{
			name: "manifest section that is not UTF-8 (section 5)",
			module: func(t *testing.T) []byte {
				return abi.AppendCustomSection(echo(t), abi.ManifestSection,
					[]byte(`{"name":"x","version":"1`+"\xff"+`","kind":"compute","computations":[{"name":"default"}]}`))
			},
			want:    host.ErrInvalidManifest,
			message: []string{"UTF-8"},
		},
		{
			name: "two manifest sections (section 5)",
			module: func(t *testing.T) []byte {
				m := abi.AppendCustomSection(echo(t), abi.ManifestSection, section(t, "first"))
				return abi.AppendCustomSection(m, abi.ManifestSection, section(t, "second"))
			},
			want:    host.ErrInvalidManifest,
			message: []string{"2 onex.manifest sections"},
		},
	}
	h, _ := newHost(t, host.NewConfig())
	for _, tt := range tests {
		for _, ex := range executions {
			t.Run(tt.name+"/"+string(ex), func(t *testing.T) {
				p, err := h.Load(context.Background(), tt.module(t), host.PluginConfig{Execution: ex})
				require.Error(t, err)
				assert.Nil(t, p)
				require.ErrorIs(t, err, tt.want)
				assert.NotErrorIs(t, err, host.ErrTrap)
				assert.NotErrorIs(t, err, host.ErrMemoryLimit)
				var pe *host.PluginError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, "load", pe.Op)
				for _, m := range tt.message {
					assert.Contains(t, err.Error(), m)
				}
			})
		}
	}
}

// TestABI_FSPaths: SPEC.md section 8, "Paths are absolute and must lie inside a granted
// directory ...; `..`, symbolic links leading outside and paths outside every grant are
// refused": a relative path or a ".." element is invalid_input even inside the grant, and
// a write, move or delete of a symbolic link leading out of the grant is denied. Run
// through the WAT effect proxy, which returns onex.call's status as its own (it offers
// no fs.move: moves are covered by TestRoots_symlinkOut in the fs package, and the host
// checks a move's two paths like every other path).
func TestABI_FSPaths(t *testing.T) {
	h := effectHost(t)
	base := t.TempDir()
	dir, outside := filepath.Join(base, "data"), filepath.Join(base, "outside")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "a"), 0o755))
	require.NoError(t, os.MkdirAll(outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "in.txt"), []byte("in"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "link")))
	n := loadProxy(t, h, proxyGrants(dir), effect.Config{Retry: effect.RetryPolicy{MaxRetries: -1}})

	write := func(p string) (string, any) { return abi.OpFSWrite, abi.FSWriteRequest{Path: p, Data: []byte("x")} }
	read := func(p string) (string, any) { return abi.OpFSRead, abi.FSReadRequest{Path: p} }
	tests := []struct {
		name string
		req  func() (string, any)
		want abi.Status // 0: succeeds
	}{
		{name: "absolute read", req: func() (string, any) { return read(dir + "/in.txt") }},
		{name: "relative read", req: func() (string, any) { return read("in.txt") }, want: abi.StatusInvalidInput},
		{name: "relative write", req: func() (string, any) { return write("new.txt") }, want: abi.StatusInvalidInput},
		{name: "dot-dot inside the grant", req: func() (string, any) { return read(dir + "/a/../in.txt") }, want: abi.StatusInvalidInput},
		{name: "dot-dot write inside the grant", req: func() (string, any) { return write(dir + "/a/../new.txt") }, want: abi.StatusInvalidInput},
		{name: "write through a symlink out", req: func() (string, any) { return write(dir + "/link") }, want: abi.StatusDenied},
		{name: "delete a symlink out", req: func() (string, any) {
			return abi.OpFSDelete, abi.FSPathRequest{Path: dir + "/link"}
		}, want: abi.StatusDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, req := tt.req()
			data, err := json.Marshal(req)
			require.NoError(t, err)
			_, err = n.Process(context.Background(), abi.EffectInput{EffectType: op, OperationData: data})
			if tt.want == abi.StatusOK {
				require.NoError(t, err)
				return
			}
			var pe *host.PluginError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.want, pe.Status, "%v", err)
		})
	}
	b, err := os.ReadFile(filepath.Join(outside, "secret"))
	require.NoError(t, err)
	assert.Equal(t, "secret", string(b), "nothing changed outside the grant")
	assert.FileExists(t, filepath.Join(dir, "in.txt"))
	assert.NoFileExists(t, filepath.Join(dir, "new.txt"))
}
