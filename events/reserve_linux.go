package events

import (
	"os"

	"golang.org/x/sys/unix"
)

// fallocateKeepSize allocates n bytes of disk to f past its end without
// changing its size; appends then land in the allocated blocks.
func fallocateKeepSize(f *os.File, n int64) error {
	return unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, 0, n)
}
