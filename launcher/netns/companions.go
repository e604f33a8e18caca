package netns

import (
	"slices"
	"strconv"
	"sync"
)

// companions are this owner's own helper processes (its spawner): they
// share its cgroup, so a cgroup is the owner's alone when it holds only
// the owner and them, and they move with it into its leaf.
var companions struct {
	sync.Mutex
	pids []int
}

func addCompanion(pid int) {
	companions.Lock()
	defer companions.Unlock()
	companions.pids = append(companions.pids, pid)
}

func removeCompanion(pid int) {
	companions.Lock()
	defer companions.Unlock()
	companions.pids = slices.DeleteFunc(companions.pids, func(p int) bool { return p == pid })
}

func companionPids() []int {
	companions.Lock()
	defer companions.Unlock()
	return slices.Clone(companions.pids)
}

func isCompanion(pid string) bool {
	n, err := strconv.Atoi(pid)
	return err == nil && slices.Contains(companionPids(), n)
}
