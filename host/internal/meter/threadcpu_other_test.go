//go:build !linux

package meter

import "time"

// threadCPU reports false: there is no per-thread CPU clock here, and the benchmarks fall
// back to wall time.
func threadCPU() (time.Duration, bool) { return 0, false }
