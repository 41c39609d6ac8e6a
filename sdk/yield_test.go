package sdk

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestYieldPolicy_After(t *testing.T) {
	tests := []struct {
		name  string
		calls int // small, quick calls before the one checked
		moved int
		took  time.Duration
		want  bool
	}{
		{name: "first small call", want: false},
		{name: "every 16th call", calls: yieldEvery - 1, want: true},
		{name: "the 15th small call", calls: yieldEvery - 2, want: false},
		{name: "a large call", moved: yieldBytes, want: true},
		{name: "just below the size", moved: yieldBytes - 1, want: false},
		{name: "a slow call", took: yieldAfter, want: true},
		{name: "just below the time", took: yieldAfter - time.Nanosecond, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var y yieldPolicy
			for range tt.calls {
				assert.False(t, y.after(10, time.Microsecond))
			}
			assert.Equal(t, tt.want, y.after(tt.moved, tt.took))
		})
	}
}

func TestYieldPolicy_ResetsAfterYield(t *testing.T) {
	var y yieldPolicy
	assert.True(t, y.after(yieldBytes, 0))
	for range yieldEvery - 1 {
		assert.False(t, y.after(0, 0), "the count restarts after any yield")
	}
	assert.True(t, y.after(0, 0))
}
