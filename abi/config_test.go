package abi_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

func TestManifest_ConfigDeclarations(t *testing.T) {
	t.Parallel()
	def := "x"
	base := func(keys ...abi.ConfigKey) abi.Manifest {
		return abi.Manifest{Name: "n", Version: "1", Kind: abi.KindCompute, Computations: []abi.Computation{{Name: "c"}}, Config: keys}
	}
	for _, tc := range []struct {
		name    string
		m       abi.Manifest
		wantErr string
	}{
		{"ok", base(abi.ConfigKey{Name: "a", Default: &def}, abi.ConfigKey{Name: "B_2", Required: true, Secret: true}), ""},
		{"bad name", base(abi.ConfigKey{Name: "a-b"}), `config[0].name "a-b"`},
		{"twice", base(abi.ConfigKey{Name: "a"}, abi.ConfigKey{Name: "a"}), "declared twice"},
		{"required with default", base(abi.ConfigKey{Name: "a", Required: true, Default: &def}), "required and has a default"},
		{"secret with default", base(abi.ConfigKey{Name: "a", Secret: true, Default: &def}), "secret and has a default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, abi.ErrInvalidManifest)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
	_, err := abi.DecodeManifest([]byte(`{"name":"n","version":"1","kind":"compute","computations":[{"name":"c"}],"config":[{"name":"a","secrett":true}]}`))
	assert.ErrorContains(t, err, "unknown field")
	assert.Equal(t, "ONEX_SECRET_MAIL_OUT_V2_API_TOKEN", abi.SecretEnvName("mail-out.v2", "api_token"))
}
