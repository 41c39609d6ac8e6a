package meter

import (
	"syscall"
	"time"
	"unsafe"
)

// clockThreadCPUTimeID is Linux's CLOCK_THREAD_CPUTIME_ID, which package syscall does not
// name.
const clockThreadCPUTimeID = 3

// threadCPU returns the CPU time the calling thread has used, user and system, in
// nanoseconds, and true. Callers lock the goroutine to its thread around the code they
// measure. Unlike wall time it leaves out the time other processes held the CPU, which on
// a shared machine is most of the noise.
func threadCPU() (time.Duration, bool) {
	var ts syscall.Timespec
	_, _, errno := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
