//go:build !linux

package gitgate

import "errors"

// limitMemory cannot bound a process's memory here, so a push is refused
// rather than unpacked without the bound.
func limitMemory(pid int, bytes uint64) error {
	return errors.New("bound its memory: this system has no prlimit")
}

// lowerPriority is not done here; limitMemory refuses the push first.
func lowerPriority(pid, nice int) error { return nil }
