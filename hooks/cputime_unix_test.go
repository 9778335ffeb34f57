//go:build unix

package hooks

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time of the whole process (all threads, GC included).
// On a shared machine wall time also counts the time other processes held
// the cores; CPU time per operation does not, so the comparison holds.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
