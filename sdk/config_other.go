//go:build !wasip1

package sdk

// importConfig is the native stand-in for onex.config: no values (see SetConfig).
func importConfig(string, *uint32) (string, bool) { return "", false }
