package main

import (
	"context"
	"encoding/json"
	"math"
	"slices"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

var statsComputation = abi.Computation{
	Name: "stats",
	Description: "Descriptive statistics of a non-empty array of numbers: count, sum, min, max, " +
		"mean, median, stddev (the population standard deviation, dividing by n like numpy.std), " +
		"and the 90th and 99th percentiles by linear interpolation between the closest ranks " +
		"(numpy.percentile's default method)",
	// No minItems: the host enforces the input schema, and an empty array is left to the
	// handler, whose error (code invalid_input, status error) the tests and clients rely on.
	InputSchema: json.RawMessage(`{"type":"array","items":{"type":"number"}}`),
	OutputSchema: json.RawMessage(`{"type":"object",` +
		`"properties":{"count":{"type":"integer"},"sum":{"type":"number"},"min":{"type":"number"},` +
		`"max":{"type":"number"},"mean":{"type":"number"},"median":{"type":"number"},` +
		`"stddev":{"type":"number"},"p90":{"type":"number"},"p99":{"type":"number"}},` +
		`"required":["count","sum","min","max","mean","median","stddev","p90","p99"]}`),
}

// Summary is the result of stats.
type Summary struct {
	Count  int     `json:"count"`
	Sum    float64 `json:"sum"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	StdDev float64 `json:"stddev"`
	P90    float64 `json:"p90"`
	P99    float64 `json:"p99"`
}

// stats summarises xs, sorting it in place (it is the handler's own decoded copy). An
// empty array is an error with code "invalid_input"; a result beyond the float64 range
// one with code "overflow".
func stats(_ context.Context, xs []float64) (Summary, error) {
	if len(xs) == 0 {
		return Summary{}, sdk.NewError("invalid_input", "stats: needs a non-empty array of numbers, got an empty one")
	}
	n := float64(len(xs))
	s := sum(xs) // in input order, before sorting
	mean := s / n
	var sq float64
	for _, x := range xs {
		d := x - mean
		sq += d * d
	}
	slices.Sort(xs)
	out := Summary{
		Count:  len(xs),
		Sum:    s,
		Min:    xs[0],
		Max:    xs[len(xs)-1],
		Mean:   mean,
		Median: median(xs),
		StdDev: math.Sqrt(sq / n),
		P90:    percentile(xs, 90),
		P99:    percentile(xs, 99),
	}
	for _, v := range []float64{out.Sum, out.Mean, out.Median, out.StdDev, out.P90, out.P99} {
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return Summary{}, sdk.NewError("overflow", "stats: a statistic exceeds the 64-bit floating-point range")
		}
	}
	return out, nil
}

// median returns the middle of sorted xs, or the mean of the two middle values, as
// numpy.median does.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// percentile returns the p-th percentile (0–100) of sorted, non-empty xs by numpy's
// default "linear" method: the value at rank (n-1)·p/100, interpolated between the two
// closest ranks.
func percentile(sorted []float64, p float64) float64 {
	pos := float64(len(sorted)-1) * (p / 100) // numpy: (n-1)·q with q = p/100
	lo := math.Floor(pos)
	i := int(lo)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	return lerp(sorted[i], sorted[i+1], pos-lo)
}

// lerp interpolates from a to b by t in [0, 1] the way numpy does, measuring from the
// nearer end so that t = 1 gives b exactly.
func lerp(a, b, t float64) float64 {
	d := b - a
	if t >= 0.5 {
		return b - d*(1-t)
	}
	return a + d*t
}
