package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun_SlowThreshold(t *testing.T) {
	tests := []struct {
		name string
		flag string
		warn bool
	}{
		{name: "every operation is slow", flag: "1ns", warn: true},
		{name: "zero disables", flag: "0", warn: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The flag is the point: the echo fixture loads in milliseconds.
			code, _, stderr := cli(t, "", "run", fixture("wat/echo.wasm"), "--data", "[1,2]", "--no-cache",
				"--slow-threshold", tt.flag)
			require.Equal(t, 0, code, stderr)
			if tt.warn {
				assert.Contains(t, stderr, "slow operation")
			} else {
				assert.NotContains(t, stderr, "slow operation")
			}
		})
	}
}

// TestRun_TypeHint: run without --type on a plugin that has no default computation says
// which to pass (misuse, exit 2).
func TestRun_TypeHint(t *testing.T) {
	code, stdout, stderr := cli(t, "", "run", fixture("wat/sleep.wasm"))
	assert.Equal(t, 2, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "pass --type; offered: sleep, sleeploop, spin, logloop")
}
