package sdk

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

func undo(context.Context, []byte) error { return nil }

type writeOp struct {
	Path string `json:"path"`
	Text string `json:"text"`
}

// undone records the payloads the "undo_ok" compensation ran with.
type undone struct{ payloads []string }

// registerEffectFixtures registers an effect node with one effect and one compensation
// per behaviour the effect dispatch must handle.
func registerEffectFixtures() *undone {
	u := &undone{}
	Describe(abi.Manifest{Name: "effects", Version: "1.0.0", Kind: abi.KindEffect,
		Capabilities: []abi.Capability{abi.CapabilityFS}})
	Effect(abi.Computation{Name: "write_file"}, func(_ context.Context, op writeOp) (map[string]int, error) {
		if err := FS.Write(op.Path, []byte(op.Text)); err != nil {
			return nil, fmt.Errorf("write %s: %w", op.Path, err)
		}
		return map[string]int{"written": len(op.Text)}, nil
	})
	EffectRaw(abi.Computation{Name: "default"}, echo)
	Effect(abi.Computation{Name: "busy"}, func(_ context.Context, _ json.RawMessage) (int, error) {
		return 0, Retryable("busy", "try later")
	})
	Effect(abi.Computation{Name: "boom"}, func(_ context.Context, _ json.RawMessage) (int, error) {
		panic("boom")
	})
	Compensation("undo_ok", func(_ context.Context, payload []byte) error {
		u.payloads = append(u.payloads, string(payload))
		return nil
	})
	Compensation("undo_fail", func(context.Context, []byte) error {
		return Retryable("still_locked", "the file is locked")
	})
	Compensation("undo_boom", func(context.Context, []byte) error { panic("undo boom") })
	return u
}

func TestDispatchEffect(t *testing.T) {
	useRegistry(t)
	registerEffectFixtures()
	tests := []struct {
		name     string
		effect   string
		data     string
		answer   func(op string, req []byte) (abi.Status, []byte) // the fake host; nil answers {}
		status   abi.Status
		out      string // exact output on success; error payload JSON otherwise
		contains []string
	}{
		{name: "typed", effect: "write_file", data: `{"path":"/srv/a","text":"hi"}`, out: `{"written":2}`},
		{name: "raw", effect: "default", data: `{"k":1}`, out: `{"k":1}`},
		{name: "empty type means default", effect: "", data: `[1]`, out: `[1]`},
		{
			name: "invalid input names the effect", effect: "write_file", data: `[]`,
			status:   abi.StatusInvalidInput,
			contains: []string{`"code":"invalid_input"`, `effect \"write_file\": decode input as sdk.writeOp`},
		},
		{
			name: "retryable error", effect: "busy", data: `1`,
			status: abi.StatusError, out: `{"code":"busy","message":"try later","retryable":true}`,
		},
		{
			name: "capability failure passed on keeps code and retryable", effect: "write_file",
			data: `{"path":"/srv/a","text":"hi"}`,
			answer: func(string, []byte) (abi.Status, []byte) {
				return abi.StatusUnavailable, []byte(`{"code":"breaker_open","message":"fs is down"}`)
			},
			status: abi.StatusError,
			out:    `{"code":"breaker_open","message":"write /srv/a: sdk: fs.write: breaker_open: fs is down","retryable":true}`,
		},
		{
			name: "panic", effect: "boom", data: `1`,
			status:   abi.StatusPanic,
			contains: []string{`"message":"panic: boom\n`, "registerEffectFixtures", "effect_test.go:"},
		},
		{
			name: "unknown effect", effect: "nope", data: `1`,
			status:   abi.StatusUnknownComputation,
			contains: []string{`unknown effect \"nope\"; this plugin offers: write_file, default, busy, boom`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			useHost(t, tt.answer)
			status, out := DispatchEffect(context.Background(), tt.effect, []byte(tt.data))
			assert.Equal(t, tt.status, status)
			if tt.out != "" {
				assert.Equal(t, tt.out, string(out))
			}
			for _, want := range tt.contains {
				assert.Contains(t, string(out), want)
			}
		})
	}
}

func TestDispatchEffect_PanicMessageIsShort(t *testing.T) {
	useRegistry(t)
	registerEffectFixtures()
	_, out := DispatchEffect(context.Background(), "boom", []byte(`1`))
	lines := strings.Split(abi.DecodeError(abi.StatusPanic, out).Message, "\n")
	require.Len(t, lines, 2, "the panic site only: the SDK's own frames are left out")
	assert.Contains(t, lines[1], "registerEffectFixtures")
}

func TestDispatch_WrongKind(t *testing.T) {
	tests := []struct {
		name     string
		register func()
		dispatch func(ctx context.Context, name string, data []byte) (abi.Status, []byte)
		message  string
	}{
		{
			name:     "compute call on an effect node",
			register: func() { registerEffectFixtures() },
			dispatch: Dispatch,
			message:  "sdk: this plugin is an effect node: it runs through onex_effect, not onex_compute",
		},
		{
			name:     "effect call on a compute node",
			register: registerFixtures,
			dispatch: DispatchEffect,
			message:  "sdk: this plugin is a compute node: it runs through onex_compute, not onex_effect",
		},
		{
			name:     "effect call on an empty plugin",
			register: func() {},
			dispatch: DispatchEffect,
			message:  "sdk: this plugin is a compute node: it runs through onex_compute, not onex_effect",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			useRegistry(t)
			tt.register()
			status, out := tt.dispatch(context.Background(), "default", []byte(`1`))
			assert.Equal(t, abi.StatusUnsupported, status)
			assert.Equal(t, abi.Error{Code: "unsupported", Message: tt.message}, abi.DecodeError(status, out))
		})
	}
}

func TestDispatchCompensate(t *testing.T) {
	tests := []struct {
		name         string
		compensation string
		payload      string
		status       abi.Status
		out          string
		contains     string
		ran          []string
	}{
		{name: "success has no output", compensation: "undo_ok", payload: `/srv/a`, ran: []string{"/srv/a"}},
		{name: "empty payload", compensation: "undo_ok", ran: []string{""}},
		{
			name: "error", compensation: "undo_fail", payload: "x", status: abi.StatusError,
			out: `{"code":"still_locked","message":"the file is locked","retryable":true}`,
		},
		{name: "panic", compensation: "undo_boom", status: abi.StatusPanic, contains: `"message":"panic: undo boom\n`},
		{
			name: "unknown", compensation: "undo_nope", status: abi.StatusUnknownComputation,
			out: `{"code":"unknown_computation","message":"sdk: unknown compensation \"undo_nope\"; ` +
				`this plugin registers: undo_ok, undo_fail, undo_boom"}`,
		},
		{name: "empty name is unknown", compensation: "", status: abi.StatusUnknownComputation, contains: `unknown compensation \"\"`},
		{name: "effects are not compensations", compensation: "default", status: abi.StatusUnknownComputation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			useRegistry(t)
			u := registerEffectFixtures()
			status, out := DispatchCompensate(context.Background(), tt.compensation, []byte(tt.payload))
			assert.Equal(t, tt.status, status)
			if tt.status == abi.StatusOK || tt.out != "" {
				assert.Equal(t, tt.out, string(out))
			}
			assert.Contains(t, string(out), tt.contains)
			assert.Equal(t, tt.ran, u.payloads)
		})
	}
}

func TestDispatchCompensate_NoneRegistered(t *testing.T) {
	useRegistry(t)
	registerFixtures()
	status, out := DispatchCompensate(context.Background(), "undo", nil)
	assert.Equal(t, abi.StatusUnknownComputation, status)
	assert.Contains(t, string(out), `this plugin registers: (none)`)
}

// hostEntry plays the host for any entry export: alloc, write name and data, call, read
// the return area.
func hostEntry(t *testing.T, g *guest, export, name, data string) (abi.Status, []byte) {
	t.Helper()
	p := g.alloc(uint32(len(name) + len(data)))
	buf := g.window("test", p, uint64(max(len(name)+len(data), minBuffer)))
	copy(buf, name)
	copy(buf[len(name):], data)
	status := g.entry(context.Background(), export, p, uint32(len(name)), uint32(len(data)))
	assert.Equal(t, uint32(len(g.out)), binary.LittleEndian.Uint32(buf[4:8]), "return area length")
	if len(g.out) > 0 {
		assert.Equal(t, uint32(addr(g.out)), binary.LittleEndian.Uint32(buf[0:4]), "return area pointer")
	}
	assert.False(t, overlaps(g.out, g.in), "the output never lives in the host's buffer")
	return status, g.out
}

func TestGuest_EffectEntries(t *testing.T) {
	reg := useRegistry(t)
	u := registerEffectFixtures()
	h := useHost(t, nil)
	g := newGuest(reg)
	tests := []struct {
		name, export, entry, data string
		status                    abi.Status
		out                       string
	}{
		// "default" is 7 bytes: an echoed result starts inside the return area.
		{name: "identity effect aliasing the input", export: abi.ExportEffect, entry: "default", data: `{"a":"bcdefgh"}`, out: `{"a":"bcdefgh"}`},
		{name: "typed effect", export: abi.ExportEffect, entry: "write_file", data: `{"path":"/p","text":"abc"}`, out: `{"written":3}`},
		{name: "compute export refused", export: abi.ExportCompute, entry: "default", data: `1`, status: abi.StatusUnsupported,
			out: `{"code":"unsupported","message":"sdk: this plugin is an effect node: it runs through onex_effect, not onex_compute"}`},
		{name: "compensation", export: abi.ExportCompensate, entry: "undo_ok", data: `payload`, out: ``},
		{name: "unknown compensation", export: abi.ExportCompensate, entry: "x", data: ``, status: abi.StatusUnknownComputation,
			out: `{"code":"unknown_computation","message":"sdk: unknown compensation \"x\"; this plugin registers: undo_ok, undo_fail, undo_boom"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := hostEntry(t, g, tt.export, tt.entry, tt.data)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.out, string(out))
		})
	}
	assert.Equal(t, []string{"payload"}, u.payloads)
	require.Len(t, h.calls, 1)
	assert.Equal(t, fakeCall{op: abi.OpFSWrite, req: `{"path":"/p","data":"YWJj"}`}, h.calls[0])
}

func TestGuest_EffectManifest(t *testing.T) {
	g := newGuest(useRegistry(t))
	registerEffectFixtures()
	ret := g.alloc(abi.ReturnAreaSize)
	require.Equal(t, abi.StatusOK, g.manifest(ret))
	assert.Contains(t, string(g.out), `"kind":"effect"`)
	var names []string
	for _, e := range Manifest().Effects {
		names = append(names, e.Name)
	}
	assert.Equal(t, []string{"write_file", "default", "busy", "boom"}, names)
	assert.Contains(t, string(g.out), `"effects":[{"name":"write_file","input_schema":{"additionalProperties":false,`)
	assert.NotContains(t, string(g.out), `"computations"`)
	m, err := abi.DecodeManifest(g.out)
	require.NoError(t, err)
	assert.Equal(t, Manifest(), m)
}

func TestGuest_EffectEntryOutsideBufferPanics(t *testing.T) {
	g := newGuest(newRegistry())
	p := g.alloc(16)
	assert.PanicsWithValue(t, fmt.Sprintf("sdk: onex_effect: 20 bytes at 0x%x lie outside the 16-byte buffer onex_alloc returned (ABI violation by the host)", p),
		func() { g.entry(context.Background(), abi.ExportEffect, p, 10, 10) })
	assert.Panics(t, func() { g.entry(context.Background(), abi.ExportCompensate, p-1, 1, 1) })
}
