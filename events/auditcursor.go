package events

import (
	"fmt"
	"os"
	"syscall"
)

// The audit cursor is one line in audit.lock, "ino INODE pos POS": the
// writer has read the store through POS and the log whose inode is INODE
// holds every line for the events up to it. It belongs to that log only:
// a log moved aside and started again ignores it, and resumes from its own
// last line, as before. It is written after the page's lines are synced,
// so it never runs ahead of the log; it is not synced itself, since a
// cursor lost in a crash costs only a longer read.

// fileIno returns f's inode number, or 0 when it cannot be known.
func fileIno(f *os.File) uint64 {
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// readAuditCursor returns the pos the cursor in lock holds for the log
// with inode ino, or 0.
func readAuditCursor(lock *os.File, ino uint64) uint64 {
	if ino == 0 {
		return 0
	}
	buf := make([]byte, 64)
	n, _ := lock.ReadAt(buf, 0)
	var gotIno, pos uint64
	if _, err := fmt.Sscanf(string(buf[:n]), "ino %d pos %d\n", &gotIno, &pos); err != nil || gotIno != ino {
		return 0
	}
	return pos
}

// writeAuditCursor records pos for the log with inode ino. A cursor that
// cannot be written costs the next writer a longer read, nothing more.
func writeAuditCursor(lock *os.File, ino, pos uint64) {
	if ino == 0 {
		return
	}
	line := fmt.Appendf(nil, "ino %d pos %d\n", ino, pos)
	if _, err := lock.WriteAt(line, 0); err == nil {
		_ = lock.Truncate(int64(len(line)))
	}
}
