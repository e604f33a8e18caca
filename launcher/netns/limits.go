package netns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bot-bottle/bot-bottle/internal/atomicfile"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
	"github.com/bot-bottle/bot-bottle/launcher/internal/cgroupfs"
	"github.com/bot-bottle/bot-bottle/schemas"
	"golang.org/x/sys/unix"
)

// cgroupRecord is the file in a run folder that lists the bottle's cgroup
// folders, written before the bottle starts, so that cleanup can remove
// them after its owner crashed.
const cgroupRecord = "cgroups"

// limits is how one local bottle's resources are bounded: by cgroups of
// its own, or, where this owner can have none, by RLIMIT_NPROC for pids
// (memory and cpus then cannot be bounded, and the launch is refused).
type limits struct {
	res  schemas.PlannedResources
	cg   *bottleCgroup // nil when no cgroup bounds the bottle
	gate *os.File      // cgroup v1: the owner's end of the init's start gate
	// initGate is the init's end of the gate, passed as an extra file.
	initGate *os.File
	nproc    int64 // the RLIMIT_NPROC the init sets, 0 for none
	// shown are the hierarchies the init mounts for the bottle to read its
	// own cgroup in.
	shown    *bottleinit.Cgroups
	warnings []string
}

// needed lists the controllers res needs.
func needed(res schemas.PlannedResources) []string {
	var out []string
	if res.Pids > 0 {
		out = append(out, "pids")
	}
	if res.MemoryBytes > 0 {
		out = append(out, "memory")
	}
	if res.CPUs > 0 {
		out = append(out, "cpu")
	}
	return out
}

// newLimits makes the bottle's cgroups (recording them in its run folder)
// or chooses the fallback. hostUID is who the bottle's root is on the
// host. It refuses what cannot be enforced here.
func newLimits(spec *launcher.Spec, hostUID int) (*limits, error) {
	l := &limits{res: spec.Resources}
	need := needed(spec.Resources)
	if len(need) == 0 {
		return l, nil
	}
	why := ""
	v, err := cgroupfs.Read(0)
	if err != nil {
		why = err.Error()
	} else if place := findCgroupPlace(v, need); place.why != "" {
		why = place.why
	} else {
		// Recorded first: a crash between the mkdir and the record must
		// not leave a cgroup no cleanup knows of.
		if err := recordCgroups(spec.RunDir, place, spec.BottleID); err != nil {
			return nil, err
		}
		cg, err := place.create(spec.BottleID, spec.Resources, need)
		if err != nil {
			why = err.Error()
		} else {
			l.cg = cg
			l.shown = shownCgroups(v, cg, need)
			if !cg.v2 {
				if l.initGate, l.gate, err = os.Pipe(); err != nil {
					_ = cg.remove()
					return nil, fmt.Errorf("local backend: start gate: %w", err)
				}
			}
			return l, nil
		}
	}
	if err := l.fallback(why, hostUID); err != nil {
		return nil, err
	}
	return l, nil
}

// fallback bounds pids by RLIMIT_NPROC, set by the init inside the
// bottle's user namespace. Since Linux 5.14 the kernel counts it per user
// namespace, so it counts the bottle's own tasks; it binds no task of host
// root, and it has no counter of refused forks.
func (l *limits) fallback(why string, hostUID int) error {
	var cannot []string
	if l.res.MemoryBytes > 0 {
		cannot = append(cannot, "resources.memory ("+schemas.FormatBytes(l.res.MemoryBytes)+")")
	}
	if l.res.CPUs > 0 {
		cannot = append(cannot, "resources.cpus ("+schemas.CPULimit(int64(l.res.CPUs*100+0.5)).String()+")")
	}
	if l.res.Pids > 0 && hostUID == 0 {
		cannot = append(cannot, fmt.Sprintf("resources.pids (%d): RLIMIT_NPROC does not bind host root", l.res.Pids))
	}
	if len(cannot) > 0 {
		return fmt.Errorf("local backend: %s cannot be enforced here: no cgroup for the bottle (%s); "+
			"use --backend docker, or set them to unlimited", strings.Join(cannot, " and "), why)
	}
	l.nproc = l.res.Pids
	l.warnings = append(l.warnings, nprocWarning(l.res.Pids, why, hostUID))
	return nil
}

// nprocWarning says what the RLIMIT_NPROC fallback does and does not do.
func nprocWarning(pids int64, why string, hostUID int) string {
	w := fmt.Sprintf("local backend: resources.pids (%d) is enforced with RLIMIT_NPROC, not a cgroup (%s): "+
		"it counts the bottle's tasks in its own user namespace, and nothing reports how often it refused one", pids, why)
	if old := oldNprocKernel(); old != "" {
		w += fmt.Sprintf("; this kernel (%s, before 5.14) counts every process of uid %d against it, the owner's included", old, hostUID)
	}
	return w
}

// oldNprocKernel returns the kernel release when it counts RLIMIT_NPROC
// per user, not per user namespace (before 5.14), and "" otherwise.
func oldNprocKernel() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	rel := unix.ByteSliceToString(u.Release[:])
	var major, minor int
	if _, err := fmt.Sscanf(rel, "%d.%d", &major, &minor); err != nil {
		return ""
	}
	if major < 5 || major == 5 && minor < 14 {
		return rel
	}
	return ""
}

// configureInit hands the init its start gate (cgroup v1) as an extra
// file and tells it the RLIMIT_NPROC to set.
func (l *limits) configureInit(cfg *bottleinit.Config, ex *extraFiles) {
	if l.initGate != nil {
		cfg.Gate = ex.add(l.initGate)
		l.initGate = nil // ex closes it once the init has its copy
	}
	cfg.NProc = l.nproc
	cfg.Cgroups = l.shown
}

// shownCgroups lists the hierarchies the bottle has a cgroup of its own
// in; no other is mounted for it, so it never sees its owner's cgroups.
func shownCgroups(v *cgroupfs.View, cg *bottleCgroup, need []string) *bottleinit.Cgroups {
	if cg.v2 {
		return &bottleinit.Cgroups{V2: true}
	}
	out := &bottleinit.Cgroups{}
	for _, c := range need {
		if set := v.V1Set[c]; set != "" && !slices.Contains(out.V1, set) {
			out.V1 = append(out.V1, set)
		}
	}
	return out
}

// configureCmd puts the init into the bottle's cgroup at birth (cgroup v2,
// CLONE_INTO_CGROUP).
func (l *limits) configureCmd(cmd *exec.Cmd) {
	if l.cg != nil && l.cg.v2 {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = l.cg.fd
	}
}

// started runs once the init does: on v1 it moves the init into the
// bottle's cgroups, then opens the gate it waits at.
func (l *limits) started(pid int) error {
	if l.gate == nil {
		return nil
	}
	defer func() { l.gate.Close(); l.gate = nil }()
	if err := l.cg.attach(pid); err != nil {
		return fmt.Errorf("local backend: put the bottle in its cgroup: %w", err)
	}
	if _, err := l.gate.Write([]byte{1}); err != nil {
		return fmt.Errorf("local backend: start gate: %w", err)
	}
	return nil
}

// hits reads the limit counters; ok is false without a cgroup.
func (l *limits) hits() (schemas.LimitHits, bool) {
	if l == nil || l.cg == nil {
		return schemas.LimitHits{}, false
	}
	return l.cg.hits(), true
}

// release removes the cgroups; the bottle has ended.
func (l *limits) release() error {
	if l == nil {
		return nil
	}
	for _, f := range []*os.File{l.gate, l.initGate} {
		if f != nil {
			_ = f.Close()
		}
	}
	l.gate, l.initGate = nil, nil
	if l.cg == nil {
		return nil
	}
	if err := l.cg.remove(); err != nil {
		return fmt.Errorf("local backend: %w", err)
	}
	return nil
}

// recordCgroups writes the folders place will create into the run folder.
func recordCgroups(rd launcher.RunDir, place cgroupPlace, bottleID string) error {
	var lines []string
	for _, parent := range place.parent {
		lines = append(lines, filepath.Join(parent, cgroupName(bottleID)))
	}
	if err := atomicfile.Write(filepath.Join(rd.Root, cgroupRecord), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("local backend: record the bottle's cgroups: %w", err)
	}
	return nil
}

// PlanWarnings is the planner's HostCheck for the local backend: what it
// could not enforce of plan's resources on this machine, for this user.
// It changes nothing on the host.
func PlanWarnings(plan *schemas.Plan) []string {
	need := needed(plan.Resources)
	if len(need) == 0 {
		return nil
	}
	why := ""
	if v, err := cgroupfs.Read(0); err != nil {
		why = err.Error()
	} else if why = findCgroupPlace(v, need).why; why == "" {
		return nil
	}
	l := &limits{res: plan.Resources}
	if err := l.fallback(why, os.Getuid()); err != nil {
		return []string{"launch --backend local will refuse: " + strings.TrimPrefix(err.Error(), "local backend: ")}
	}
	return l.warnings
}

// leftoverCgroup is the Leftover kind of a dead owner's bottle cgroup.
const leftoverCgroup = "cgroup"

// cgroupLeftovers lists the recorded cgroups of the home's run folders
// whose owner is dead.
func cgroupLeftovers(home string, alive func(launcher.Owner) bool) ([]launcher.Leftover, error) {
	entries, err := os.ReadDir(launcher.RunRoot(home))
	if err != nil {
		return nil, nil // no run folder: nothing of ours
	}
	var out []launcher.Leftover
	for _, e := range entries {
		rd := launcher.RunDirOf(home, e.Name())
		if launcher.CheckID(e.Name()) != "" {
			continue
		}
		rec, err := launcher.ReadRunRecord(rd)
		if err != nil || rec.Backend != Name || alive(rec.Owner) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(rd.Root, cgroupRecord))
		if err != nil {
			continue
		}
		for _, dir := range strings.Fields(string(data)) {
			if _, err := os.Stat(dir); err == nil {
				out = append(out, launcher.Leftover{Backend: Name, BottleID: rec.ID, Kind: leftoverCgroup, ID: dir})
			}
		}
	}
	return out, nil
}

// removeLeftoverCgroup removes a cgroup folder a run folder recorded, once
// it is sure the folder is that bottle's cgroup and nothing else.
func removeLeftoverCgroup(l launcher.Leftover) error {
	dir := filepath.Clean(l.ID)
	v, err := cgroupfs.Read(0)
	if err != nil {
		return fmt.Errorf("local backend: %w", err)
	}
	if filepath.Base(dir) != cgroupName(l.BottleID) || !v.UnderMount(dir) {
		return fmt.Errorf("local backend: leftover %s of bottle %s is not that bottle's cgroup; not removing it", dir, l.BottleID)
	}
	if err := removeCgroup(dir); err != nil {
		return fmt.Errorf("local backend: %w", err)
	}
	return nil
}
