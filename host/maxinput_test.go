package host_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/compute"
)

// TestPlugin_MaxInputFitsDefaultMemory checks that the SDK's typed decoding lets a
// standard-Go plugin take the largest input the host allows (DefaultMaxInputBytes) within
// the default memory limit: the decoder of a string or number input must not copy the
// input into a buffer of its own (issue 17).
func TestPlugin_MaxInputFitsDefaultMemory(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	p := loadGo(t, h, "plugins/core", host.PluginConfig{})
	node, err := compute.New(p)
	require.NoError(t, err)
	// A JSON string of exactly DefaultMaxInputBytes bytes.
	s := strings.Repeat("a", host.DefaultMaxInputBytes-2)
	data, err := json.Marshal(s)
	require.NoError(t, err)
	require.Len(t, data, host.DefaultMaxInputBytes)
	tests := []struct {
		name        string
		computation string
		check       func(t *testing.T, result json.RawMessage)
	}{
		{name: "sha256 of a string", computation: "sha256", check: func(t *testing.T, r json.RawMessage) {
			var hex string
			require.NoError(t, json.Unmarshal(r, &hex))
			assert.Len(t, hex, 64)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := node.Process(context.Background(), abi.ComputeInput{ComputationType: tt.computation, Data: data, NoCache: true})
			require.NoError(t, err)
			tt.check(t, out.Result)
		})
	}
}
