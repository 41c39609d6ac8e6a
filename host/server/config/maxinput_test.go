package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/server/config"
)

// TestFile_HostConfigMaxInput checks that host.max_input_bytes raises the host's input
// cap (issue 17), and that leaving it out keeps the default.
func TestFile_HostConfigMaxInput(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want int
	}{
		{name: "default", doc: "host: {}\n", want: host.DefaultMaxInputBytes},
		{name: "raised", doc: "host: {max_input_bytes: 64MiB}\nlimits: {max_request_bytes: 65MiB}\n", want: 64 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := config.Parse([]byte(tt.doc))
			require.NoError(t, err)
			hc, err := f.HostConfig(nil)
			require.NoError(t, err)
			assert.Equal(t, tt.want, hc.MaxInputBytes)
		})
	}
}
