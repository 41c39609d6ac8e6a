package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSemverOf: every build version the Makefile or Go can give becomes a version the
// NATS micro service accepts (semantic versioning 2.0.0), keeping what identifies it.
func TestSemverOf(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3":                    "1.2.3",
		"v0.3.0-12-g1a2b3c4d":       "0.3.0-12-g1a2b3c4d",
		"v0.3.0-12-g1a2b3c4d-dirty": "0.3.0-12-g1a2b3c4d-dirty",
		"1a2b3c4d":                  "0.0.0-1a2b3c4d",
		"1a2b3c4d-dirty":            "0.0.0-1a2b3c4d-dirty",
		"(devel)":                   "0.0.0-devel",
		"(devel 0123456789ab)":      "0.0.0-devel.0123456789ab",
		"v01.002.3":                 "1.2.3",
		"v1.2.3-rc.01":              "1.2.3-rc.1",
		"":                          "0.0.0",
		"v1.2":                      "0.0.0-v1.2",
	} {
		assert.Equal(t, want, semverOf(in), in)
	}
}
