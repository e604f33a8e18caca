package launcher

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Self returns the Owner that stands for the calling process.
func Self() Owner {
	pid := os.Getpid()
	start, _ := processStart(pid)
	return Owner{PID: pid, Start: start}
}

// Alive reports whether the owner process still runs. A pid that now
// belongs to another process (its start time differs) counts as dead, so
// pid reuse cannot keep a crashed owner's leftovers alive forever.
func (o Owner) Alive() bool {
	if o.PID <= 0 {
		return false
	}
	if err := unix.Kill(o.PID, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return false
	}
	if o.Start == 0 {
		return true
	}
	start, err := processStart(o.PID)
	return err == nil && start == o.Start
}

// String prints pid/start.
func (o Owner) String() string { return fmt.Sprintf("%d/%d", o.PID, o.Start) }

// ParseOwner reads the String form back.
func ParseOwner(s string) (Owner, error) {
	p, st, _ := strings.Cut(s, "/")
	pid, err := strconv.Atoi(p)
	if err != nil {
		return Owner{}, fmt.Errorf("owner %q: bad pid: %w", s, err)
	}
	var start uint64
	if st != "" {
		if start, err = strconv.ParseUint(st, 10, 64); err != nil {
			return Owner{}, fmt.Errorf("owner %q: bad start time: %w", s, err)
		}
	}
	return Owner{PID: pid, Start: start}, nil
}

// processStart returns a process's start time in clock ticks since boot:
// field 22 of /proc/PID/stat, counted after the command name, which may
// itself hold spaces and parentheses.
func processStart(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); starttime is field 22.
	if len(fields) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}
