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
