package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// treePSS sums the proportional set size (KiB) of the processes in the
// trees rooted at roots: every page shared by n of them counts 1/n, so the
// sum is what they hold together, without double-counting the shared
// binary.
func treePSS(roots []int) (kib float64, procs int) {
	for _, pid := range processTree(roots) {
		if v, ok := smapsField(pid, "Pss"); ok {
			kib += v
			procs++
		}
	}
	return kib, procs
}

// processTree returns roots and every process below them.
func processTree(roots []int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp := ppid(pid); pp > 0 {
			children[pp] = append(children[pp], pid)
		}
	}
	var out []int
	seen := map[int]bool{}
	stack := append([]int(nil), roots...)
	for len(stack) > 0 {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		stack = append(stack, children[pid]...)
		out = append(out, pid)
	}
	return out
}

// ppid is pid's parent, 0 when unknown.
func ppid(pid int) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// smapsField reads one field (KiB) of /proc/PID/smaps_rollup.
func smapsField(pid int, field string) (float64, bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return n, err == nil
		}
	}
	return 0, false
}

// hostUsedKiB is the machine's memory in use (MemTotal - MemAvailable),
// kernel memory included; other work on the machine moves it too.
func hostUsedKiB() float64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	var total, avail float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 2 {
			continue
		}
		v, _ := strconv.ParseFloat(fs[1], 64)
		switch fs[0] {
		case "MemTotal:":
			total = v
		case "MemAvailable:":
			avail = v
		}
	}
	return total - avail
}
