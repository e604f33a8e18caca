package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher/internal/cgroupfs"
	"github.com/bot-bottle/bot-bottle/schemas"
	"golang.org/x/sys/unix"
)

// cgroupName is the folder name of a bottle's cgroup.
func cgroupName(bottleID string) string { return "bot-bottle-" + bottleID }

// cpuPeriod is the CFS period a cpus limit is a quota of (100ms).
const cpuPeriod = 100000

// bottleCgroup is one bottle's cgroup: one folder on v2, one per
// controller on v1. The limits are set on it and repeated on the child
// folder the bottle's processes are in (innerCgroup): the bottle sees its
// limits where programs look for them (its own cgroup), and should it ever
// lift that copy, the outer one, which no cgroup namespace of the bottle
// shows, still holds.
type bottleCgroup struct {
	v2   bool
	dirs map[string]string // controller ("" on v2) -> the outer folder
	fd   int               // v2: the inner folder, opened for CLONE_INTO_CGROUP; else -1
}

// innerCgroup is the folder, inside a bottle's cgroup, its processes are in.
const innerCgroup = "bottle"

// create makes the bottle's cgroup with its limits set. On v2 it first
// readies the parent (prepare); on failure nothing is left behind.
func (p cgroupPlace) create(bottleID string, res schemas.PlannedResources, need []string) (*bottleCgroup, error) {
	if p.prepare != nil {
		prepareMu.Lock()
		err := p.prepare()
		prepareMu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	cg := &bottleCgroup{v2: p.v2, dirs: map[string]string{}, fd: -1}
	fail := func(err error) (*bottleCgroup, error) {
		_ = cg.remove()
		return nil, err
	}
	for c, parent := range p.parent {
		dir := filepath.Join(parent, cgroupName(bottleID))
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fail(fmt.Errorf("cgroup %s: %w", dir, err))
		}
		cg.dirs[c] = dir
		if cg.v2 {
			if err := enable(dir, need); err != nil {
				return fail(err)
			}
		}
		if err := os.Mkdir(filepath.Join(dir, innerCgroup), 0o755); err != nil {
			return fail(fmt.Errorf("cgroup %s: %w", dir, err))
		}
	}
	for _, inner := range []bool{false, true} {
		if err := cg.setLimits(res, inner); err != nil {
			return fail(err)
		}
	}
	if cg.v2 {
		in := filepath.Join(cg.dirs[""], innerCgroup)
		fd, err := unix.Open(in, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fail(fmt.Errorf("cgroup %s: %w", in, err))
		}
		cg.fd = fd
	}
	return cg, nil
}

// dir returns the folder holding controller c's files, outer or inner.
func (cg *bottleCgroup) dir(c string, inner bool) string {
	d := cg.dirs[c]
	if cg.v2 {
		d = cg.dirs[""]
	}
	if d == "" || !inner {
		return d
	}
	return filepath.Join(d, innerCgroup)
}

// setLimits writes the limits into the outer or the inner folders. Swap
// counts against the memory limit, so that swapping out is no way around
// it; on v2 an OOM kill takes the whole cgroup (memory.oom.group), so the
// bottle ends as one.
func (cg *bottleCgroup) setLimits(res schemas.PlannedResources, inner bool) error {
	var files [][2]string
	if res.Pids > 0 {
		files = append(files, [2]string{cg.dir("pids", inner) + "/pids.max", strconv.FormatInt(res.Pids, 10)})
	}
	mem := cg.dir("memory", inner)
	if m := strconv.FormatInt(res.MemoryBytes, 10); res.MemoryBytes > 0 && cg.v2 {
		files = append(files, [2]string{mem + "/memory.max", m}, [2]string{mem + "/memory.oom.group", "1"})
		if exists(mem + "/memory.swap.max") {
			files = append(files, [2]string{mem + "/memory.swap.max", "0"})
		}
	} else if res.MemoryBytes > 0 {
		files = append(files, [2]string{mem + "/memory.limit_in_bytes", m})
		if exists(mem + "/memory.memsw.limit_in_bytes") {
			files = append(files, [2]string{mem + "/memory.memsw.limit_in_bytes", m})
		}
	}
	cpu := cg.dir("cpu", inner)
	if quota := int64(math.Round(res.CPUs * cpuPeriod)); res.CPUs > 0 && cg.v2 {
		files = append(files, [2]string{cpu + "/cpu.max", fmt.Sprintf("%d %d", quota, cpuPeriod)})
	} else if res.CPUs > 0 {
		files = append(files, [2]string{cpu + "/cpu.cfs_period_us", strconv.Itoa(cpuPeriod)},
			[2]string{cpu + "/cpu.cfs_quota_us", strconv.FormatInt(quota, 10)})
	}
	for _, f := range files {
		if err := writeFile(f[0], f[1]); err != nil {
			return err
		}
	}
	return nil
}

// attach moves pid into the bottle's inner cgroups (v1; on v2 the init
// is started inside).
func (cg *bottleCgroup) attach(pid int) error {
	for _, dir := range cg.dirs {
		if err := writeFile(filepath.Join(dir, innerCgroup, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// hits reads the limit counters: forks the pids limit refused
// (pids.events max) and processes the OOM killer took (oom_kill), the
// larger of the outer and inner counts (v2 counts up the tree, v1 where
// the fork or the kill happened).
func (cg *bottleCgroup) hits() schemas.LimitHits {
	var h schemas.LimitHits
	for _, inner := range []bool{false, true} {
		if d := cg.dir("pids", inner); d != "" {
			h.PidsRefused = max(h.PidsRefused, cgroupfs.KeyedValue(d+"/pids.events", "max"))
		}
		if d := cg.dir("memory", inner); d != "" && cg.v2 {
			h.OOMKills = max(h.OOMKills, cgroupfs.KeyedValue(d+"/memory.events", "oom_kill"))
		} else if d != "" {
			h.OOMKills = max(h.OOMKills, cgroupfs.KeyedValue(d+"/memory.oom_control", "oom_kill"))
		}
	}
	return h
}

// paths lists the cgroup folders, for the run folder's record.
func (cg *bottleCgroup) paths() []string {
	out := make([]string, 0, len(cg.dirs))
	for _, d := range cg.dirs {
		out = append(out, d)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// remove kills whatever is still in the cgroups and removes them.
func (cg *bottleCgroup) remove() error {
	if cg.fd >= 0 {
		_ = unix.Close(cg.fd)
		cg.fd = -1
	}
	var errs []error
	for _, d := range cg.paths() {
		if err := removeCgroup(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeCgroup empties a cgroup folder and the folders in it
// (cgroup.kill on v2, SIGKILL to each process on v1) and removes them,
// innermost first. Killed processes take a moment to leave, so removal
// is retried for a while.
func removeCgroup(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() {
			if err := removeCgroup(filepath.Join(dir, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if exists(dir + "/cgroup.kill") {
		_ = writeFile(dir+"/cgroup.kill", "1")
	} else {
		for _, f := range readFields(dir + "/cgroup.procs") {
			if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
				_ = unix.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	for delay := time.Millisecond; delay < 2*time.Second; delay *= 2 {
		if err = unix.Rmdir(dir); err == nil || errors.Is(err, unix.ENOENT) {
			return errors.Join(errs...)
		}
		time.Sleep(delay)
	}
	return errors.Join(append(errs, fmt.Errorf("remove cgroup %s: %w", dir, err))...)
}

func readFields(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.Fields(string(data))
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// onlySelf reports whether this process (with its own helpers, its
// spawner) is the only one in cgroup dir.
func onlySelf(dir string) bool {
	procs := readFields(filepath.Join(dir, "cgroup.procs"))
	self := slices.Contains(procs, strconv.Itoa(os.Getpid()))
	for _, p := range procs {
		if p != strconv.Itoa(os.Getpid()) && !isCompanion(p) {
			return false
		}
	}
	return self
}

func writable(path string) bool { return unix.Access(path, unix.W_OK) == nil }

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// writeFile writes one cgroup control file. Control files take one write
// each, without truncation or creation.
func writeFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	if _, err := f.WriteString(value); err != nil {
		f.Close()
		return fmt.Errorf("cgroup: write %s: %w", path, err)
	}
	return f.Close()
}
