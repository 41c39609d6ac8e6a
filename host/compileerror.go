package host

import (
	"fmt"
	"regexp"
	"strconv"
)

// memoryMinimum matches wazero's compile error for a module whose declared memory
// minimum is over the runtime's page limit (wazero v1.12, internal/wasm/module.go).
var memoryMinimum = regexp.MustCompile(`min (\d+) pages \([^)]*\) over limit of (\d+) pages`)

// compileError classifies a compilation error: a memory minimum over the memory limit
// is ErrMemoryLimit, naming both; anything else is ErrInvalidModule.
func compileError(err error) (kind error, message string) {
	m := memoryMinimum.FindStringSubmatch(err.Error())
	if m == nil {
		return ErrInvalidModule, err.Error()
	}
	minPages, _ := strconv.ParseUint(m[1], 10, 32)
	limitPages, _ := strconv.ParseUint(m[2], 10, 32)
	return ErrMemoryLimit, fmt.Sprintf("the module declares a memory minimum of %s (%d pages), over the memory limit of %s (%d pages): raise the memory limit",
		pagesSize(minPages), minPages, pagesSize(limitPages), limitPages)
}

// pagesSize is the size of n 64 KiB pages in MiB, or KiB when not whole MiB.
func pagesSize(n uint64) string {
	if b := n * pageSize; b%(1<<20) != 0 {
		return fmt.Sprintf("%d KiB", b>>10)
	}
	return fmt.Sprintf("%d MiB", n*pageSize>>20)
}
