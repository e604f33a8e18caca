// Package cgroupfs finds a process's cgroups on this host and reads their
// counters: the part of cgroup handling both backends share. The local
// backend makes its bottles' cgroups under its own; the docker backend
// reads the counters of the cgroup the Engine made for a container.
package cgroupfs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LimitControllers are the controllers a bottle's limits need: pids for
// resources.pids, memory for resources.memory, cpu for resources.cpus.
var LimitControllers = []string{"pids", "memory", "cpu"}

// View is where a process's cgroup is, in the hierarchies this process
// can see: the unified one (cgroup v2) when the limit controllers live
// there, otherwise each controller's v1 hierarchy.
type View struct {
	// V2 is the process's cgroup folder in the unified hierarchy, and V2Top
	// that hierarchy's mount point; both "" unless the controllers are on
	// v2.
	V2, V2Top string
	// V1 maps each controller that has a v1 hierarchy to the process's
	// cgroup folder in it, V1Top to that hierarchy's mount point and V1Set
	// to all the controllers it holds ("cpu" -> "cpu,cpuacct").
	V1, V1Top, V1Set map[string]string
}

// Read returns the view of process pid (0: this process), as mounted for
// this process.
func Read(pid int) (*View, error) {
	mi, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	defer mi.Close()
	who := "self"
	if pid > 0 {
		who = strconv.Itoa(pid)
	}
	cg, err := os.Open("/proc/" + who + "/cgroup")
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	defer cg.Close()
	return Parse(mi, cg)
}

// mount is one mounted cgroup hierarchy: what part of it (root) is
// mounted where (point).
type mount struct {
	point, root string
}

// Parse joins the cgroup mounts of a mountinfo with the cgroup paths of
// a /proc/PID/cgroup.
func Parse(mountinfo, procCgroup io.Reader) (*View, error) {
	var v2 []mount
	v1 := map[string][]mount{}
	sc := bufio.NewScanner(mountinfo)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 {
			continue
		}
		m := mount{root: unescape(f[3]), point: unescape(f[4])}
		switch g[0] {
		case "cgroup2":
			v2 = append(v2, m)
		case "cgroup":
			for _, opt := range strings.Split(g[2], ",") {
				v1[opt] = append(v1[opt], m)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cgroups: read mountinfo: %w", err)
	}
	v := &View{V1: map[string]string{}, V1Top: map[string]string{}, V1Set: map[string]string{}}
	sc = bufio.NewScanner(procCgroup)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		path := strings.TrimSuffix(parts[2], " (deleted)")
		if parts[0] == "0" && parts[1] == "" {
			v.V2, v.V2Top = locate(v2, path)
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if dir, top := locate(v1[c], path); dir != "" {
				v.V1[c], v.V1Top[c], v.V1Set[c] = dir, top, parts[1]
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cgroups: read /proc/PID/cgroup: %w", err)
	}
	// The limit controllers are on v1 when any of them is (a hybrid host:
	// its unified hierarchy holds none of the controllers v1 holds).
	for _, c := range LimitControllers {
		if _, ok := v.V1[c]; ok {
			v.V2, v.V2Top = "", ""
			break
		}
	}
	return v, nil
}

// locate returns the folder of cgroup path under the first mount that
// shows it, and that mount's point; "" when none does.
func locate(mounts []mount, path string) (dir, top string) {
	for _, m := range mounts {
		if rel, ok := within(path, m.root); ok {
			return filepath.Join(m.point, rel), m.point
		}
	}
	return "", ""
}

// within returns path relative to root when path is root or under it.
func within(path, root string) (string, bool) {
	if root == "/" {
		return path, true
	}
	if path == root {
		return "/", true
	}
	rest, ok := strings.CutPrefix(path, root+"/")
	return "/" + rest, ok
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Dir returns the folder holding controller c's files: the v2 folder, or
// c's v1 folder; "" when c is not there.
func (v *View) Dir(c string) string {
	if v.V2 != "" {
		return v.V2
	}
	return v.V1[c]
}

// UnderMount reports whether dir (absolute and clean) is strictly inside
// one of the view's hierarchies, so that cleanup never removes a folder a
// tampered record names elsewhere.
func (v *View) UnderMount(dir string) bool {
	if !filepath.IsAbs(dir) || filepath.Clean(dir) != dir {
		return false
	}
	tops := []string{v.V2Top}
	for _, t := range v.V1Top {
		tops = append(tops, t)
	}
	for _, t := range tops {
		if rel, ok := within(dir, t); t != "" && ok && rel != "/" {
			return true
		}
	}
	return false
}

// KeyedValue reads the number after key in a file of "key value" lines
// (pids.events, memory.events, memory.oom_control); 0 when the file or the
// key is missing.
func KeyedValue(path, key string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, val, ok := strings.Cut(line, " "); ok && k == key {
			n, _ := strconv.Atoi(strings.TrimSpace(val))
			return n
		}
	}
	return 0
}
