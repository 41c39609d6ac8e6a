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
			code, _, stderr := cli(t, "", "run", corePath, "--type", "sum_numbers", "--data", "[1,2]", "--no-cache",
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
