package main

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

func TestStats(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want Summary
	}{
		{
			name: "one to five",
			in:   []float64{1, 2, 3, 4, 5},
			want: Summary{Count: 5, Sum: 15, Min: 1, Max: 5, Mean: 3, Median: 3, StdDev: math.Sqrt2, P90: 4.6, P99: 4.96},
		},
		{
			name: "unsorted, even count",
			in:   []float64{10, 2, 8, 4},
			want: Summary{Count: 4, Sum: 24, Min: 2, Max: 10, Mean: 6, Median: 6, StdDev: math.Sqrt(10), P90: 9.4, P99: 9.94},
		},
		{
			name: "single value",
			in:   []float64{-7.5},
			want: Summary{Count: 1, Sum: -7.5, Min: -7.5, Max: -7.5, Mean: -7.5, Median: -7.5, StdDev: 0, P90: -7.5, P99: -7.5},
		},
		{
			name: "constant",
			in:   []float64{2, 2, 2},
			want: Summary{Count: 3, Sum: 6, Min: 2, Max: 2, Mean: 2, Median: 2, StdDev: 0, P90: 2, P99: 2},
		},
		{
			// numpy.percentile(range(1, 101), [90, 99]) -> [90.1, 99.01]
			name: "one to a hundred",
			in:   seq(1, 100),
			want: Summary{Count: 100, Sum: 5050, Min: 1, Max: 100, Mean: 50.5, Median: 50.5,
				StdDev: math.Sqrt((100*100 - 1) / 12.0), P90: 90.1, P99: 99.01},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := stats(context.Background(), tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want.Count, got.Count)
			for _, f := range []struct {
				name      string
				want, got float64
			}{
				{"sum", tt.want.Sum, got.Sum}, {"min", tt.want.Min, got.Min}, {"max", tt.want.Max, got.Max},
				{"mean", tt.want.Mean, got.Mean}, {"median", tt.want.Median, got.Median},
				{"stddev", tt.want.StdDev, got.StdDev}, {"p90", tt.want.P90, got.P90}, {"p99", tt.want.P99, got.P99},
			} {
				assert.InDelta(t, f.want, f.got, 1e-12, f.name)
			}
		})
	}
}

func TestStats_Errors(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		code string
	}{
		{name: "empty", in: []float64{}, code: "invalid_input"},
		{name: "null", in: nil, code: "invalid_input"},
		{name: "overflow", in: []float64{math.MaxFloat64, math.MaxFloat64}, code: "overflow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := stats(context.Background(), tt.in)
			var ae *abi.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.code, ae.Code)
		})
	}
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		sorted []float64
		p      float64
		want   float64
	}{
		{name: "min", sorted: []float64{1, 2, 3}, p: 0, want: 1},
		{name: "max", sorted: []float64{1, 2, 3}, p: 100, want: 3},
		{name: "exact rank", sorted: []float64{1, 2, 3}, p: 50, want: 2},
		{name: "between ranks", sorted: []float64{0, 10}, p: 25, want: 2.5},
		{name: "upper half", sorted: []float64{0, 10}, p: 75, want: 7.5},
		{name: "single", sorted: []float64{4}, p: 99, want: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, percentile(tt.sorted, tt.p), 1e-12)
		})
	}
}

func seq(from, to int) []float64 {
	var xs []float64
	for i := from; i <= to; i++ {
		xs = append(xs, float64(i))
	}
	return xs
}
