//go:build !unix

package plugintest

// lockFile does not lock where flock is missing: concurrent test binaries may then build
// the same plugin twice, which the atomic rename keeps safe.
func lockFile(string) (unlock func(), err error) { return func() {}, nil }
