package server

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The percentiles of /v1/status interpolate within the bucket the rank falls in, as
// Prometheus' histogram_quantile does.
func TestUI_Quantile(t *testing.T) {
	bounds := []float64{1, 2, 4}
	assert.Zero(t, quantile(0.5, bounds, []uint64{0, 0, 0}, 0), "no observations")
	assert.InDelta(t, 1.5, quantile(0.5, bounds, []uint64{0, 10, 10}, 10), 1e-9, "all in (1, 2]")
	assert.InDelta(t, 0.5, quantile(0.5, bounds, []uint64{10, 10, 10}, 10), 1e-9, "all in (0, 1]")
	assert.InDelta(t, 3.96, quantile(0.99, bounds, []uint64{50, 50, 100}, 100), 1e-9, "the top half in (2, 4]")
	assert.Equal(t, 4.0, quantile(0.99, bounds, []uint64{0, 0, 1}, 2), "past the last bound: that bound")
}
