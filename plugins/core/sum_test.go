package main

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

func TestSumNumbers(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{name: "one to five", in: []float64{1, 2, 3, 4, 5}, want: 15},
		{name: "empty", in: []float64{}, want: 0},
		{name: "null", in: nil, want: 0},
		{name: "mixed signs and fractions", in: []float64{1.5, -0.5, 2}, want: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sumNumbers(context.Background(), tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSumNumbers_Overflow(t *testing.T) {
	_, err := sumNumbers(context.Background(), []float64{math.MaxFloat64, math.MaxFloat64})
	var ae *abi.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "overflow", ae.Code)
}
