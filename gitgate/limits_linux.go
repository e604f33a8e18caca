package gitgate

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// limitMemory bounds the heap (RLIMIT_DATA: private writable mappings)
// of the started process pid. Lowering a limit of one's own child needs no
// privilege.
func limitMemory(pid int, bytes uint64) error {
	if err := unix.Prlimit(pid, unix.RLIMIT_DATA, &unix.Rlimit{Cur: bytes, Max: bytes}, nil); err != nil {
		return fmt.Errorf("bound its memory: %w", err)
	}
	return nil
}

// lowerPriority gives the started process pid the nice value nice.
// Lowering one's own child's priority needs no privilege.
func lowerPriority(pid, nice int) error {
	if err := unix.Setpriority(unix.PRIO_PROCESS, pid, nice); err != nil {
		return fmt.Errorf("lower its priority: %w", err)
	}
	return nil
}
