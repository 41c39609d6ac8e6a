package abi_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

// normalManifest makes m comparable with a manifest that went through json.Marshal: it
// drops empty slices (omitempty turns them into absent fields, which decode as nil) and
// re-encodes schemas the way json.Marshal writes a json.RawMessage (compact, HTML-escaped).
func normalManifest(tb testing.TB, m abi.Manifest) abi.Manifest {
	tb.Helper()
	if len(m.Capabilities) == 0 {
		m.Capabilities = nil
	}
	if len(m.Publishes) == 0 {
		m.Publishes = nil
	}
	if len(m.Computations) == 0 {
		m.Computations = nil
		return m
	}
	cs := make([]abi.Computation, len(m.Computations))
	for i, c := range m.Computations {
		c.InputSchema = normalRaw(tb, c.InputSchema)
		c.OutputSchema = normalRaw(tb, c.OutputSchema)
		cs[i] = c
	}
	m.Computations = cs
	return m
}

func normalRaw(tb testing.TB, r json.RawMessage) json.RawMessage {
	tb.Helper()
	if len(r) == 0 {
		return nil
	}
	b, err := json.Marshal(r)
	require.NoError(tb, err)
	return b
}

// jsonValue decodes one JSON value for a semantic comparison; empty means null.
func jsonValue(tb testing.TB, b []byte) any {
	tb.Helper()
	if len(b) == 0 {
		b = []byte("null")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	require.NoError(tb, dec.Decode(&v))
	return v
}

func FuzzDecodeManifest(f *testing.F) {
	f.Add([]byte(`{
  "name": "core",
  "version": "1.0.0",
  "kind": "compute",
  "description": "ONEX built-in computations",
  "computations": [
    {"name": "sum_numbers", "description": "Sum a list of numbers",
     "input_schema": {"type": "array", "items": {"type": "number"}},
     "output_schema": {"type": "number"}}
  ],
  "deterministic": true,
  "idempotent": true,
  "timeout_ms": 1000,
  "capabilities": [],
  "publishes": []
}`))
	f.Add([]byte(`{"name":"mailer","version":"0.1","kind":"effect","capabilities":["http","events"],"publishes":["onex.evt.mail.sent.v1"]}`))
	f.Add([]byte(`{"name":"echo","version":"1","kind":"compute","computations":[{"name":"default","input_schema":{"a":"<&>"},"output_schema":null}],"timeout_ms":86400000}`))
	f.Add([]byte(`{"name":"x","version":"1","kind":"compute","computations":[{"name":"a"},{"name":"a"}]}`))
	f.Add([]byte(`{"name":"x","version":"1","kind":"effect","publishes":["onex.evt.a.b.v1"]}`))
	f.Add([]byte(`{"name":"x","version":"1","kind":"effect","timeout_ms":-1}`))
	f.Add([]byte(`{"name":"x","version":"1","kind":"effect","purity":true}`))
	f.Add([]byte(`{"name":"x","version":"1","kind":"effect"} {}`))
	f.Add([]byte(`{"name":"x","version":"1","kind":"effect","description":"caf\xe9 \u2028"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := abi.DecodeManifest(b)
		if err != nil {
			require.ErrorIs(t, err, abi.ErrInvalidManifest)
			return
		}
		require.NoError(t, m.Validate())
		again, err := json.Marshal(m)
		require.NoError(t, err)
		m2, err := abi.DecodeManifest(again)
		require.NoError(t, err, "re-encoded manifest %s", again)
		require.Equal(t, normalManifest(t, m), normalManifest(t, m2))
	})
}

func FuzzDecodeComputeInput(f *testing.F) {
	f.Add([]byte(`{"computation_type":"sum_numbers","data":[1,2,3],"operation_id":"6f1c2a1e-8a5b-4b61-9d1f-1f0b9f7c2a10","cache_enabled":false,"parallel_enabled":true,"metadata":{"trace":"abc"}}`))
	f.Add([]byte(`{"data":{"text":"hello","n":1e300,"big":123456789012345678901234567890}}`))
	f.Add([]byte(`{"computation_type":"default","data":null,"cache_enabled":true}`))
	f.Add([]byte(`{"computation_type":"x","data":"a\xffb"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"data":"<\u2028\xff>"}`))
	f.Add([]byte(`{"data":1} {"data":2}`))
	f.Add([]byte(`{"data":`))
	f.Add([]byte(`{"metadata":{"a":[1,{"b":null}]},"node_id":"n"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := abi.DecodeComputeInput(b)
		if err != nil {
			return
		}
		again, err := in.MarshalJSON()
		require.NoError(t, err)
		in2, err := abi.DecodeComputeInput(again)
		require.NoError(t, err, "re-encoded input %s", again)
		require.Equal(t, in.ComputationType, in2.ComputationType)
		require.Equal(t, in.OperationID, in2.OperationID)
		require.Equal(t, in.NoCache, in2.NoCache)
		require.Equal(t, in.ParallelEnabled, in2.ParallelEnabled)
		require.Equal(t, jsonValue(t, in.Data), jsonValue(t, in2.Data))
	})
}

func FuzzDecodeError(f *testing.F) {
	f.Add(int32(abi.StatusError), []byte(`{"code":"bad_number","message":"item 2 is not a number","retryable":false}`))
	f.Add(int32(abi.StatusUnavailable), []byte(`{"code":"db","message":"down"}`))
	f.Add(int32(abi.StatusPanic), []byte("runtime error: index out of range [3] with length 3"))
	f.Add(int32(abi.StatusTimeout), []byte{})
	f.Add(int32(99), []byte("bad \xff\xfe byte"))
	f.Add(int32(-1), []byte(`{"code":"","message":""}`))
	f.Add(int32(abi.StatusError), []byte("{\"code\":\"c\",\"message\":\"a\xffb\\ud800\"}"))
	f.Add(int32(abi.StatusError), bytes.Repeat([]byte("é"), abi.MaxErrorPayload/2+1))
	f.Fuzz(func(t *testing.T, status int32, b []byte) {
		s := abi.Status(status)
		e := abi.DecodeError(s, b)
		require.NotEmpty(t, e.Code)
		require.True(t, utf8.ValidString(e.Code), "code %q", e.Code)
		require.True(t, utf8.ValidString(e.Message), "message %q", e.Message)
		if s.Retryable() {
			require.True(t, e.Retryable)
		}
	})
}

func FuzzCustomSection(f *testing.F) {
	manifest := []byte(`{"name":"core","version":"1","kind":"effect"}`)
	typeSection := []byte{0x01, 0x04, 0x01, 0x60, 0x00, 0x00}
	f.Add(abi.AppendCustomSection([]byte(abi.Magic), abi.ManifestSection, manifest), abi.ManifestSection)
	f.Add(abi.AppendCustomSection(append([]byte(abi.Magic), typeSection...), "name", []byte{0, 1, 2}), abi.ManifestSection)
	f.Add([]byte(abi.Magic), abi.ManifestSection)
	f.Add(append([]byte(abi.Magic), 0x00, 0x05, 0x01, 'a'), "a")
	f.Add(append([]byte(abi.Magic), 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f), "")
	f.Add(append([]byte(abi.Magic), 0x00, 0x07, 0x81, 0x80, 0x80, 0x80, 0x00, 'a', 'z'), "a")
	f.Add([]byte("\x00asm\x0d\x00\x01\x00"), abi.ManifestSection)
	f.Fuzz(func(t *testing.T, module []byte, name string) {
		got, err := abi.CustomSection(module, name)
		if err != nil {
			require.Nil(t, got)
			if !abi.IsWasm(module) {
				require.ErrorIs(t, err, abi.ErrNotWasm)
			} else {
				require.ErrorIs(t, err, abi.ErrMalformedModule)
			}
			return
		}
		require.True(t, abi.IsWasm(module))
		if got != nil {
			require.LessOrEqual(t, len(got), len(module)-len(abi.Magic))
			requireView(t, module, got)
			return
		}
		// Absent: appending the section makes it the first one of that name.
		payload := []byte("payload")
		extended := abi.AppendCustomSection(bytes.Clone(module), name, payload)
		back, err := abi.CustomSection(extended, name)
		require.NoError(t, err)
		require.Equal(t, payload, back)
	})
}

// FuzzImportModules: reading the import section never panics, on any bytes.
func FuzzImportModules(f *testing.F) {
	for _, name := range []string{"echo", "effectproxy", "badimport", "versioned1", "wasiglobal"} {
		if b, err := os.ReadFile("../plugins/testdata/wat/" + name + ".wasm"); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		mods, err := abi.ImportModules(b)
		all, err2 := abi.Imports(b)
		require.Equal(t, err == nil, err2 == nil)
		for _, im := range all {
			require.Contains(t, mods, im.Module)
			require.LessOrEqual(t, im.Kind, abi.ImportGlobal)
		}
	})
}
