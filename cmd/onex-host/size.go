package main

import (
	"fmt"

	"github.com/onexhost/onex-host/host/server/config"
)

// parseSize parses a flag's byte size (config.ParseSize's syntax): positive, at most 4GiB.
func parseSize(s string) (uint64, error) {
	n, err := config.ParseSize(s)
	if err != nil || n == 0 || n > 1<<32 {
		return 0, fmt.Errorf("invalid size %q: want a positive number of bytes up to 4GiB, e.g. 64MiB", s)
	}
	return uint64(n), nil
}

// formatSize renders n bytes for humans.
func formatSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}
