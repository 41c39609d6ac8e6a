package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestVersion_BuildVersion: the version the Makefile stamps (-X main.buildVersion) is
// the one reported; without it, the build info's answer is.
func TestVersion_BuildVersion(t *testing.T) {
	old := buildVersion
	t.Cleanup(func() { buildVersion = old })

	buildVersion = ""
	assert.Regexp(t, `^onex-host \S+ \(abi v1, go1\.\d+`, versionString())

	buildVersion = "v1.2.3-4-gabcdef0-dirty"
	assert.Regexp(t, `^onex-host v1\.2\.3-4-gabcdef0-dirty \(abi v1, go1\.\d+\S*, wazero v\d`, versionString())
}
