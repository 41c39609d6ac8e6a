package sdk

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

// hostCall plays the host: alloc, write name and data, compute, read the return area.
func hostCall(t *testing.T, g *guest, name, data string) (abi.Status, []byte) {
	t.Helper()
	p := g.alloc(uint32(len(name) + len(data)))
	buf := g.window("test", p, uint64(max(len(name)+len(data), minBuffer)))
	copy(buf, name)
	copy(buf[len(name):], data)
	status := g.entry(context.Background(), abi.ExportCompute, p, uint32(len(name)), uint32(len(data)))
	ptr := binary.LittleEndian.Uint32(buf[0:4])
	n := binary.LittleEndian.Uint32(buf[4:8])
	require.Equal(t, uint32(len(g.out)), n, "return area length")
	if n > 0 {
		require.Equal(t, uint32(addr(g.out)), ptr, "return area pointer (low 32 bits natively)")
	}
	return status, g.out
}

func TestGuest_Alloc(t *testing.T) {
	g := newGuest(newRegistry())
	p0 := g.alloc(0)
	assert.NotZero(t, p0)
	assert.Len(t, g.in, minBuffer, "at least 8 bytes even for size 0")
	assert.Equal(t, p0, g.alloc(5), "a big enough buffer is reused")
	p1 := g.alloc(100)
	assert.GreaterOrEqual(t, len(g.in), 100)
	assert.Equal(t, p1, g.alloc(100))
	assert.Equal(t, p1, g.alloc(1), "never shrinks")
}

func TestGuest_Compute(t *testing.T) {
	reg := useRegistry(t)
	registerFixtures()
	g := newGuest(reg)
	tests := []struct {
		name, computation, data string
		status                  abi.Status
		out                     string
	}{
		// "default" is 7 bytes, so an echoed result starts inside the return area: the
		// guest must copy it before writing the area.
		{name: "identity aliasing the input", computation: "default", data: `{"a":"bcdefgh"}`, out: `{"a":"bcdefgh"}`},
		{name: "identity with empty data is null", computation: "default", data: ``, out: ``},
		{name: "typed", computation: "upper", data: `"abc"`, out: `"ABC"`},
		{name: "short input still has a return area", computation: "", data: ``, out: ``},
		{name: "error", computation: "coded", data: `0`, status: abi.StatusError, out: `{"code":"bad_thing","message":"it went wrong"}`},
		{name: "bigger input grows the buffer", computation: "upper", data: `"` + strings.Repeat("x", 300) + `"`,
			out: `"` + strings.Repeat("X", 300) + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := hostCall(t, g, tt.computation, tt.data)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.out, string(out))
			assert.False(t, overlaps(out, g.in), "the output never lives in the host's buffer")
		})
	}
}

func TestGuest_ComputeOutsideBufferPanics(t *testing.T) {
	g := newGuest(newRegistry())
	assert.Panics(t, func() { g.entry(context.Background(), abi.ExportCompute, 4096, 1, 1) }, "before any alloc")
	p := g.alloc(16)
	assert.Panics(t, func() { g.entry(context.Background(), abi.ExportCompute, p, 10, 10) }, "past the end")
	assert.Panics(t, func() { g.entry(context.Background(), abi.ExportCompute, p-1, 1, 1) }, "before the start")
	assert.Panics(t, func() { g.manifest(p + uintptr(len(g.in)) - 4) }, "return area past the end")
}

func TestGuest_Manifest(t *testing.T) {
	tests := []struct {
		name     string
		setup    func()
		status   abi.Status
		contains string
	}{
		{
			name:     "valid",
			setup:    registerFixtures,
			contains: `"name":"fixtures"`,
		},
		{
			name:     "no describe",
			setup:    func() { ComputeRaw(abi.Computation{Name: "default"}, echo) },
			status:   abi.StatusError,
			contains: `{"code":"no_manifest","message":"sdk: Describe was not called in init"}`,
		},
		{
			name:     "invalid",
			setup:    func() { Describe(abi.Manifest{Name: "Bad", Version: "1"}) },
			status:   abi.StatusError,
			contains: `"code":"invalid_manifest","message":"sdk: abi: invalid manifest: name \"Bad\"`,
		},
		{
			name:     "no computations",
			setup:    func() { Describe(abi.Manifest{Name: "empty", Version: "1"}) },
			status:   abi.StatusError,
			contains: "a compute node must offer at least one computation",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGuest(useRegistry(t))
			tt.setup()
			ret := g.alloc(abi.ReturnAreaSize)
			status := g.manifest(ret)
			assert.Equal(t, tt.status, status)
			assert.Contains(t, string(g.out), tt.contains)
			area := g.window("test", ret, abi.ReturnAreaSize)
			assert.Equal(t, uint32(len(g.out)), binary.LittleEndian.Uint32(area[4:8]))
			if status == abi.StatusOK {
				m, err := abi.DecodeManifest(g.out)
				require.NoError(t, err)
				assert.Equal(t, Manifest(), m)
			}
		})
	}
}
