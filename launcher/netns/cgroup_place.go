package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/bot-bottle/bot-bottle/launcher/internal/cgroupfs"
)

// ownerLeaf is the cgroup (v2) an owner moves itself into so that the
// cgroup it was started in can hand controllers to bottle cgroups: the
// kernel lets only a cgroup with no process of its own do that.
const ownerLeaf = "bot-bottle-owner"

// rootGroup is the folder a root owner makes its bottles' cgroups in, at
// the top of the hierarchy, when its own cgroup cannot hold them.
const rootGroup = "bot-bottle"

// prepareMu serialises preparing the owner's cgroup (moving it into its
// leaf, enabling controllers): a server launches bottles concurrently.
var prepareMu sync.Mutex

// cgroupPlace is where this owner can make bottle cgroups, or why it
// cannot.
type cgroupPlace struct {
	v2     bool
	parent map[string]string // controller ("" on v2) -> folder the bottle cgroup goes in
	// prepare readies parent on v2 (a leaf for the owner, controllers
	// enabled); nil when it is ready.
	prepare func() error
	why     string
}

// findCgroupPlace decides where bottle cgroups with the controllers need
// go, without changing anything.
func findCgroupPlace(v *cgroupfs.View, need []string) cgroupPlace {
	switch {
	case v.V2 != "":
		return findV2Place(v, need)
	case len(v.V1) > 0:
		return findV1Place(v, need)
	}
	return cgroupPlace{why: "no cgroup hierarchy with the pids, memory and cpu controllers is mounted"}
}

// findV1Place: cgroup v1 has no safe delegation, so only root makes
// bottle cgroups, under its own cgroup in each controller's hierarchy.
func findV1Place(v *cgroupfs.View, need []string) cgroupPlace {
	if os.Geteuid() != 0 {
		return cgroupPlace{why: "this host has cgroup v1, which is not delegated to users: only root can give a bottle cgroups of its own"}
	}
	p := cgroupPlace{parent: map[string]string{}}
	for _, c := range need {
		dir, ok := v.V1[c]
		if !ok {
			return cgroupPlace{why: "no cgroup v1 hierarchy has the " + c + " controller"}
		}
		if !writable(dir) {
			return cgroupPlace{why: "cgroup " + dir + " is not writable"}
		}
		p.parent[c] = dir
	}
	return p
}

// findV2Place: bottle cgroups go beside the owner's leaf in the cgroup
// the owner was started in, when that cgroup is the owner's alone and
// delegated to it (systemd-run --user --scope -p Delegate=yes); else, for
// root, under the top of the hierarchy.
func findV2Place(v *cgroupfs.View, need []string) cgroupPlace {
	own := v.V2
	if filepath.Base(own) == ownerLeaf {
		own = filepath.Dir(own)
	}
	ready := func(dir string) bool { return hasAll(readFields(filepath.Join(dir, "cgroup.subtree_control")), need) }
	switch {
	case ready(own) && writable(own):
		return cgroupPlace{v2: true, parent: map[string]string{"": own}}
	case hasAll(readFields(filepath.Join(own, "cgroup.controllers")), need) && onlySelf(own) &&
		writable(own) && writable(filepath.Join(own, "cgroup.procs")) && writable(filepath.Join(own, "cgroup.subtree_control")):
		return cgroupPlace{v2: true, parent: map[string]string{"": own}, prepare: func() error { return leaveForLeaf(own, need) }}
	case os.Geteuid() == 0 && writable(v.V2Top):
		dir := filepath.Join(v.V2Top, rootGroup)
		if ready(dir) {
			return cgroupPlace{v2: true, parent: map[string]string{"": dir}}
		}
		return cgroupPlace{v2: true, parent: map[string]string{"": dir}, prepare: func() error { return makeRootGroup(v.V2Top, dir, need) }}
	}
	return cgroupPlace{why: fmt.Sprintf("your cgroup %s is not delegated to you, or holds processes besides this one "+
		"(run bot-bottle in a scope of its own: systemd-run --user --scope -p Delegate=yes bot-bottle ...)", own)}
}

// leaveForLeaf moves this process from own into own/bot-bottle-owner and
// lets own hand the controllers to its children.
func leaveForLeaf(own string, need []string) error {
	leaf := filepath.Join(own, ownerLeaf)
	if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("cgroup %s: %w", leaf, err)
	}
	if err := writeFile(filepath.Join(leaf, "cgroup.procs"), strconv.Itoa(os.Getpid())); err != nil {
		return err
	}
	for _, pid := range companionPids() {
		// The spawner goes with its owner, or own would still hold a
		// process; one that just died is gone from own anyway.
		if err := writeFile(filepath.Join(leaf, "cgroup.procs"), strconv.Itoa(pid)); err != nil && exists(fmt.Sprintf("/proc/%d", pid)) {
			return err
		}
	}
	return enable(own, need)
}

// makeRootGroup makes the root owner's folder for bottle cgroups.
func makeRootGroup(top, dir string, need []string) error {
	if err := enable(top, need); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("cgroup %s: %w", dir, err)
	}
	return enable(dir, need)
}

// enable lets dir's children use the controllers.
func enable(dir string, ctrls []string) error {
	have := readFields(filepath.Join(dir, "cgroup.subtree_control"))
	var add []string
	for _, c := range ctrls {
		if !slices.Contains(have, c) {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 {
		return nil
	}
	return writeFile(filepath.Join(dir, "cgroup.subtree_control"), strings.Join(add, " "))
}
