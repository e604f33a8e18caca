package netns

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/launcher/internal/cgroupfs"
)

// cgroupTree lays out the control files findV2Place reads, as a cgroup v2
// hierarchy shows them; the decision's logic is tested here, the kernel's
// side on this CI machine's real cgroups (v1) by the bottle tests.
func cgroupTree(t *testing.T, files map[string]string) string {
	t.Helper()
	top := t.TempDir()
	for p, content := range files {
		full := filepath.Join(top, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return top
}

var need = []string{"pids", "memory"}

func TestV2PlaceReadyOwnCgroup(t *testing.T) {
	top := cgroupTree(t, map[string]string{
		"user.slice/app.scope/cgroup.subtree_control":                  "cpu memory pids\n",
		"user.slice/app.scope/bot-bottle-owner/cgroup.procs":           strconv.Itoa(os.Getpid()) + "\n",
		"user.slice/app.scope/bot-bottle-owner/cgroup.subtree_control": "",
	})
	v := &cgroupfs.View{V2: filepath.Join(top, "user.slice/app.scope/bot-bottle-owner"), V2Top: top}
	p := findV2Place(v, need)
	if p.why != "" || p.prepare != nil || p.parent[""] != filepath.Join(top, "user.slice/app.scope") {
		t.Fatalf("an owner already in its leaf: %+v", p)
	}
}

func TestV2PlaceDelegatedScope(t *testing.T) {
	own := "user.slice/user@1000.service/app.slice/run-bb.scope"
	top := cgroupTree(t, map[string]string{
		own + "/cgroup.controllers":     "cpu memory pids\n",
		own + "/cgroup.subtree_control": "",
		own + "/cgroup.procs":           strconv.Itoa(os.Getpid()) + "\n",
		// The kernel makes a new cgroup's control files; a plain folder
		// does not, so the leaf's is laid out beforehand.
		own + "/" + ownerLeaf + "/cgroup.procs": "",
	})
	v := &cgroupfs.View{V2: filepath.Join(top, own), V2Top: top}
	// Alone: without the spawners other tests of this process started.
	saved := companionPids()
	companions.Lock()
	companions.pids = nil
	companions.Unlock()
	t.Cleanup(func() {
		companions.Lock()
		companions.pids = append(companions.pids, saved...)
		companions.Unlock()
	})
	p := findV2Place(v, need)
	if p.why != "" || p.prepare == nil || p.parent[""] != filepath.Join(top, own) {
		t.Fatalf("an owner alone in a delegated scope: %+v", p)
	}
	if err := p.prepare(); err != nil {
		t.Fatal(err)
	}
	leaf, _ := os.ReadFile(filepath.Join(top, own, ownerLeaf, "cgroup.procs"))
	sub, _ := os.ReadFile(filepath.Join(top, own, "cgroup.subtree_control"))
	if strings.TrimSpace(string(leaf)) != strconv.Itoa(os.Getpid()) || string(sub) != "+pids +memory" {
		t.Fatalf("prepare: leaf procs %q, subtree_control %q; want this process in the leaf and the controllers enabled", leaf, sub)
	}
}

// A cgroup shared with other processes (a login session) cannot hand
// controllers on: only root gets a cgroup elsewhere, at the top.
func TestV2PlaceSharedCgroup(t *testing.T) {
	own := "user.slice/session-1.scope"
	top := cgroupTree(t, map[string]string{
		own + "/cgroup.controllers":           "cpu memory pids\n",
		own + "/cgroup.subtree_control":       "",
		own + "/cgroup.procs":                 "1\n" + strconv.Itoa(os.Getpid()) + "\n",
		"cgroup.subtree_control":              "cpu memory pids\n",
		rootGroup + "/cgroup.subtree_control": "",
	})
	v := &cgroupfs.View{V2: filepath.Join(top, own), V2Top: top}
	p := findV2Place(v, need)
	if os.Geteuid() != 0 {
		if p.why == "" || !strings.Contains(p.why, "not delegated") {
			t.Fatalf("a non-root owner in a shared cgroup: %+v", p)
		}
		return
	}
	if p.why != "" || p.parent[""] != filepath.Join(top, rootGroup) || p.prepare == nil {
		t.Fatalf("root in a shared cgroup: %+v", p)
	}
	if err := p.prepare(); err != nil {
		t.Fatal(err)
	}
	if sub, _ := os.ReadFile(filepath.Join(top, rootGroup, "cgroup.subtree_control")); string(sub) != "+pids +memory" {
		t.Fatalf("the root group's subtree_control %q", sub)
	}
}

func TestV1PlaceNeedsEveryController(t *testing.T) {
	top := t.TempDir()
	v := &cgroupfs.View{V1: map[string]string{"pids": top, "memory": top}}
	p := findV1Place(v, []string{"pids", "memory", "cpu"})
	if os.Geteuid() != 0 {
		if !strings.Contains(p.why, "not delegated to users") {
			t.Fatalf("non-root on v1: %+v", p)
		}
		return
	}
	if !strings.Contains(p.why, "cpu controller") {
		t.Fatalf("a missing cpu hierarchy: %+v", p)
	}
	if p := findV1Place(v, need); p.why != "" || p.parent["pids"] != top {
		t.Fatalf("root on v1: %+v", p)
	}
}
