package events

import (
	"fmt"
	"os"
	"syscall"
)

// The audit cursor is one line in audit.lock, "ino INODE size SIZE pos
// POS": the writer has read the store through POS and the log whose inode
// is INODE, then SIZE bytes long, holds every line for the events up to
// it. It belongs to that log only: a log moved aside and started again
// ignores it, and resumes from its own last line, as before; so does a log
// removed and made again, even on the freed inode, since it is shorter
// than SIZE (the log only grows while its writer holds the lock). It is written after the page's lines are synced,
// so it never runs ahead of the log; it is not synced itself, since a
// cursor lost in a crash costs only a longer read.

// fileID returns f's inode number and size; ino is 0 when they cannot
// be known.
func fileID(f *os.File) (ino uint64, size int64) {
	fi, err := f.Stat()
	if err != nil {
		return 0, 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino, fi.Size()
	}
	return 0, 0
}

// readAuditCursor returns the pos the cursor in lock holds for the log
// f, or 0.
func readAuditCursor(lock, f *os.File) uint64 {
	ino, size := fileID(f)
	if ino == 0 {
		return 0
	}
	buf := make([]byte, 96)
	n, _ := lock.ReadAt(buf, 0)
	var gotIno, pos uint64
	var gotSize int64
	if _, err := fmt.Sscanf(string(buf[:n]), "ino %d size %d pos %d\n", &gotIno, &gotSize, &pos); err != nil || gotIno != ino || size < gotSize {
		return 0
	}
	return pos
}

// writeAuditCursor records pos for the log f as it is now. A cursor that
// cannot be written costs the next writer a longer read, nothing more.
func writeAuditCursor(lock, f *os.File, pos uint64) {
	ino, size := fileID(f)
	if ino == 0 {
		return
	}
	line := fmt.Appendf(nil, "ino %d size %d pos %d\n", ino, size, pos)
	if _, err := lock.WriteAt(line, 0); err == nil {
		_ = lock.Truncate(int64(len(line)))
	}
}
