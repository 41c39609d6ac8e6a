package abi_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

// module returns the minimal valid module (just abi.Magic) followed by the given bytes.
// It copies, so appending to the result never touches abi.Magic.
func module(rest ...[]byte) []byte {
	m := []byte(abi.Magic)
	for _, r := range rest {
		m = append(m, r...)
	}
	return m
}

// requireView fails unless inner is a subslice of outer, sharing its memory.
func requireView(tb testing.TB, outer, inner []byte) {
	tb.Helper()
	if len(inner) == 0 {
		return
	}
	for i := range outer {
		if &outer[i] == &inner[0] {
			require.LessOrEqual(tb, i+len(inner), len(outer), "view runs past the module")
			return
		}
	}
	require.Fail(tb, "result is not a view into the module")
}

func TestCustomSection(t *testing.T) {
	manifest := []byte(`{"name":"core","version":"1","kind":"effect"}`)
	typeSection := []byte{0x01, 0x04, 0x01, 0x60, 0x00, 0x00} // one func type () -> ()

	tests := []struct {
		name    string
		module  []byte
		section string
		want    []byte // nil means absent
		wantErr error
	}{
		{name: "found", module: abi.AppendCustomSection(module(), abi.ManifestSection, manifest), section: abi.ManifestSection, want: manifest},
		{
			name:    "first of two",
			module:  abi.AppendCustomSection(abi.AppendCustomSection(module(), abi.ManifestSection, []byte("first")), abi.ManifestSection, []byte("second")),
			section: abi.ManifestSection,
			want:    []byte("first"),
		},
		{
			name:    "after other sections",
			module:  abi.AppendCustomSection(abi.AppendCustomSection(module(typeSection), "name", []byte{0, 1, 2}), abi.ManifestSection, manifest),
			section: abi.ManifestSection,
			want:    manifest,
		},
		{name: "empty payload is present", module: abi.AppendCustomSection(module(), abi.ManifestSection, nil), section: abi.ManifestSection, want: []byte{}},
		{name: "empty name", module: abi.AppendCustomSection(module(), "", []byte("x")), section: "", want: []byte("x")},
		{
			name:    "payload longer than 127 bytes",
			module:  abi.AppendCustomSection(module(), abi.ManifestSection, bytes.Repeat([]byte("m"), 300)),
			section: abi.ManifestSection,
			want:    bytes.Repeat([]byte("m"), 300),
		},
		{
			name:    "section size padded to 5 bytes",
			module:  module([]byte{0x00, 0x83, 0x80, 0x80, 0x80, 0x00, 0x01, 'a', 'z'}),
			section: "a",
			want:    []byte("z"),
		},
		{
			name:    "name length padded to 5 bytes",
			module:  module([]byte{0x00, 0x07, 0x81, 0x80, 0x80, 0x80, 0x00, 'a', 'z'}),
			section: "a",
			want:    []byte("z"),
		},
		{name: "absent from minimal module", module: module(), section: abi.ManifestSection},
		{name: "absent among others", module: abi.AppendCustomSection(module(typeSection), "name", nil), section: abi.ManifestSection},
		{name: "name is a prefix", module: abi.AppendCustomSection(module(), "onex.manifest.v2", manifest), section: abi.ManifestSection},
		{name: "name is longer", module: abi.AppendCustomSection(module(), "onex", manifest), section: abi.ManifestSection},
		{name: "non-custom section with the name is skipped", module: module([]byte{0x01, 0x0e, 0x0d}, []byte("onex.manifest")), section: abi.ManifestSection},
		{
			name:    "stops at the match before a malformed tail",
			module:  append(abi.AppendCustomSection(module(), "a", []byte("z")), 0x00, 0x7f),
			section: "a",
			want:    []byte("z"),
		},

		{name: "nil", module: nil, section: abi.ManifestSection, wantErr: abi.ErrNotWasm},
		{name: "empty", module: []byte{}, section: abi.ManifestSection, wantErr: abi.ErrNotWasm},
		{name: "magic without version", module: []byte("\x00asm"), section: abi.ManifestSection, wantErr: abi.ErrNotWasm},
		{name: "wrong version", module: []byte("\x00asm\x02\x00\x00\x00"), section: abi.ManifestSection, wantErr: abi.ErrNotWasm},
		{name: "component model layer", module: []byte("\x00asm\x0d\x00\x01\x00"), section: abi.ManifestSection, wantErr: abi.ErrNotWasm},
		{name: "ELF", module: []byte("\x7fELF\x02\x01\x01\x00"), section: abi.ManifestSection, wantErr: abi.ErrNotWasm},
		{name: "text format", module: []byte("(module)"), section: abi.ManifestSection, wantErr: abi.ErrNotWasm},

		{name: "id without size", module: module([]byte{0x00}), section: abi.ManifestSection, wantErr: abi.ErrMalformedModule},
		{name: "size truncated", module: module([]byte{0x01, 0x80}), section: abi.ManifestSection, wantErr: abi.ErrMalformedModule},
		{name: "size truncated at 4 bytes", module: module([]byte{0x01, 0x80, 0x80, 0x80, 0x80}), section: abi.ManifestSection, wantErr: abi.ErrMalformedModule},
		{name: "size overflows 32 bits", module: module([]byte{0x01, 0xff, 0xff, 0xff, 0xff, 0x10}), section: abi.ManifestSection, wantErr: abi.ErrMalformedModule},
		{name: "size longer than 5 bytes", module: module([]byte{0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}), section: abi.ManifestSection, wantErr: abi.ErrMalformedModule},
		{name: "size claims more than remains", module: module([]byte{0x00, 0x05, 0x01, 'a'}), section: abi.ManifestSection, wantErr: abi.ErrMalformedModule},
		{name: "size claims the 32-bit max", module: module([]byte{0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}), section: abi.ManifestSection, wantErr: abi.ErrMalformedModule},
		{name: "size one past the end", module: module([]byte{0x01, 0x02, 0x00}), section: abi.ManifestSection, wantErr: abi.ErrMalformedModule},
		{name: "oversize claim after a good section", module: module(typeSection, []byte{0x0a, 0x10, 0x00}), section: abi.ManifestSection, wantErr: abi.ErrMalformedModule},
		{name: "custom section without a name", module: module([]byte{0x00, 0x00}), section: abi.ManifestSection, wantErr: abi.ErrMalformedModule},
		{name: "name truncated", module: module([]byte{0x00, 0x02, 0x05, 'a'}), section: abi.ManifestSection, wantErr: abi.ErrMalformedModule},
		{name: "name length truncated", module: module([]byte{0x00, 0x01, 0x80}), section: abi.ManifestSection, wantErr: abi.ErrMalformedModule},
		{name: "name length overflows", module: module([]byte{0x00, 0x05, 0xff, 0xff, 0xff, 0xff, 0x7f}), section: abi.ManifestSection, wantErr: abi.ErrMalformedModule},
		{name: "name length 32-bit max", module: module([]byte{0x00, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f}), section: abi.ManifestSection, wantErr: abi.ErrMalformedModule},
		{name: "malformed custom section before the match", module: abi.AppendCustomSection(module([]byte{0x00, 0x02, 0x05, 'a'}), "a", nil), section: "a", wantErr: abi.ErrMalformedModule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := abi.CustomSection(tt.module, tt.section)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			if tt.want == nil {
				assert.Nil(t, got)
				return
			}
			require.NotNil(t, got, "a present section is never nil, even when empty")
			assert.Equal(t, tt.want, got)
			requireView(t, tt.module, got)
		})
	}
}

func TestAppendCustomSection(t *testing.T) {
	tests := []struct {
		name    string
		section string
		payload []byte
		want    []byte // the bytes appended after abi.Magic
	}{
		{name: "small", section: "ab", payload: []byte{1, 2}, want: []byte{0x00, 0x05, 0x02, 'a', 'b', 1, 2}},
		{name: "empty name and payload", section: "", payload: nil, want: []byte{0x00, 0x01, 0x00}},
		{name: "127-byte body", section: "", payload: bytes.Repeat([]byte{7}, 126), want: append([]byte{0x00, 0x7f, 0x00}, bytes.Repeat([]byte{7}, 126)...)},
		{name: "128-byte body", section: "", payload: bytes.Repeat([]byte{7}, 127), want: append([]byte{0x00, 0x80, 0x01, 0x00}, bytes.Repeat([]byte{7}, 127)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			magic := []byte(abi.Magic)
			got := abi.AppendCustomSection(magic, tt.section, tt.payload)
			assert.Equal(t, []byte(abi.Magic), magic, "the input module is left alone")
			assert.Equal(t, module(tt.want), got)

			back, err := abi.CustomSection(got, tt.section)
			require.NoError(t, err)
			if len(tt.payload) > 0 {
				assert.Equal(t, tt.payload, back)
			} else {
				assert.Empty(t, back)
				assert.NotNil(t, back)
			}
		})
	}
}

func TestIsWasm(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{name: "magic", in: module(), want: true},
		{name: "magic and sections", in: abi.AppendCustomSection(module(), "x", nil), want: true},
		{name: "nil", in: nil, want: false},
		{name: "short", in: []byte(abi.Magic[:7]), want: false},
		{name: "wrong version", in: []byte("\x00asm\x02\x00\x00\x00"), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, abi.IsWasm(tt.in))
		})
	}
}

func TestImportModules(t *testing.T) {
	echo := mustRead(t, "../plugins/testdata/wat/echo.wasm")
	mods, err := abi.ImportModules(echo)
	require.NoError(t, err)
	assert.Equal(t, []string{"onex"}, mods)
	mods, err = abi.ImportModules(mustRead(t, "../plugins/testdata/wat/versioned1.wasm"))
	require.NoError(t, err)
	assert.Empty(t, mods)
	_, err = abi.ImportModules([]byte("nope"))
	assert.ErrorIs(t, err, abi.ErrNotWasm)
	_, err = abi.ImportModules(append([]byte(abi.Magic), 2, 5, 1, 9))
	assert.ErrorIs(t, err, abi.ErrMalformedModule)
}

func TestImports(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		want    []abi.Import
	}{
		{name: "function", fixture: "echo", want: []abi.Import{{Module: "onex", Name: "log", Kind: abi.ImportFunc}}},
		{name: "global", fixture: "wasiglobal", want: []abi.Import{{Module: "wasi_snapshot_preview1", Name: "environ", Kind: abi.ImportGlobal}}},
		{name: "none", fixture: "versioned1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := abi.Imports(mustRead(t, "../plugins/testdata/wat/"+tt.fixture+".wasm"))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	assert.Equal(t, "global", abi.ImportGlobal.String())
	assert.Equal(t, "table", abi.ImportTable.String())
	_, err := abi.Imports(append([]byte(abi.Magic), 2, 5, 1, 1, 'a', 1, 'b'))
	assert.ErrorIs(t, err, abi.ErrMalformedModule, "the description is missing")
}

func TestCustomSections(t *testing.T) {
	echo := mustRead(t, "../plugins/testdata/wat/echo.wasm")
	got, err := abi.CustomSections(echo, abi.ManifestSection)
	require.NoError(t, err)
	assert.Nil(t, got)
	twice := abi.AppendCustomSection(abi.AppendCustomSection(echo, "x", []byte("1")), "x", []byte("2"))
	got, err = abi.CustomSections(twice, "x")
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("1"), []byte("2")}, got)
	first, err := abi.CustomSection(twice, "x")
	require.NoError(t, err)
	assert.Equal(t, []byte("1"), first)
	_, err = abi.CustomSections([]byte("nope"), "x")
	assert.ErrorIs(t, err, abi.ErrNotWasm)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
