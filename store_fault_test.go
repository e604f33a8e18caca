package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/internal/testfs"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// A store with one damaged page (its header intact) that cannot record a
// new bottle is refused before anything starts: exit 1, the file named
// with what to do, no bottle run, and nothing written to the file.
// Damage in the registry (the table ps reads) is refused when the store
// opens; damage in an index that every append goes through is refused by
// the launch's first write, the record of its bottle.
func TestLaunchRefusesAStoreThatCannotRecordIt(t *testing.T) {
	for _, c := range []struct{ name, tree, want string }{
		{"registry", "latest", "table latest"},
		{"index", "sqlite_autoindex_events_2", "cannot record the bottle, so nothing was started"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newE2E(t, "local")
			if code, _, stderr := e.run("true"); code != 0 {
				t.Fatalf("first launch: exit %d: %s", code, stderr)
			}
			path := filepath.Join(e.home, sqlite.FileName)
			testfs.DamagePage(t, path, c.tree, true)
			before, err := os.ReadFile(path)
			must(t, err)
			marker := filepath.Join(e.workdir, "started")
			code, _, stderr := e.run("sh", "-c", "echo > "+marker)
			t.Logf("launch into a damaged store: exit %d\n%s", code, stderr)
			if code != 1 || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "nothing was written to it; move it aside: mv "+path+" "+path+".broken") {
				t.Errorf("exit %d, stderr %q: want exit 1, %q and the move-aside advice for %s", code, stderr, c.want, path)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("the command ran in a bottle the store could not record")
			}
			if entries, _ := os.ReadDir(launcher.RunRoot(e.home)); len(entries) > 0 {
				t.Error("the refused launch left a run folder")
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("the refused launch wrote to the damaged store")
			}
			out, err := e.cli("doctor")
			t.Logf("doctor:\n%s", out)
			if err == nil || !strings.Contains(out, "FAIL") || !strings.Contains(out, path) {
				t.Errorf("doctor on a damaged store: %v, want FAIL naming %s", err, path)
			}
		})
	}
}

// The disk that holds the home fills up while a bottle runs and stays full
// until it has ended: the owner cannot store the bottle's last denials nor
// its end, spools them into the disk space it set aside at start, and
// says so; once there is room again, the next bot-bottle stores them, so
// ps shows the bottle exited (not orphaned, and cleanup never records it
// as failed), with every denial the agent met and the count of what came
// late.
func TestLaunchOnAFullDiskSpoolsWhatItCannotStore(t *testing.T) {
	e := newE2E(t, "local")
	disk := testfs.Small(t, 24<<20)
	home := filepath.Join(disk, "bb")
	must(t, os.MkdirAll(filepath.Join(home, "bottles"), 0o700))
	manifest, err := os.ReadFile(filepath.Join(e.home, "bottles", "demo.yaml"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(home, "bottles", "demo.yaml"), manifest, 0o600))
	e.home = home
	for i, kv := range e.env {
		if strings.HasPrefix(kv, "BOT_BOTTLE_HOME=") {
			e.env[i] = "BOT_BOTTLE_HOME=" + home
		}
	}
	stop, count := filepath.Join(e.workdir, "stop"), filepath.Join(e.workdir, "count")
	r := e.start("sh", "-c", `echo ready; i=0
while [ ! -e `+stop+` ]; do `+e.client+` get http://denied.test/$i >/dev/null; i=$((i+1)); done
echo $i > `+count)
	waitDenials := func(n int) {
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			out, _ := e.cli("events", "--kind", "denial", "--bottle", r.id, "--last", "1000")
			if strings.Count(out, "egress.denial") >= n {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("fewer than %d denials stored within a minute", n)
	}
	waitDenials(5)
	free := testfs.Fill(t, disk)
	time.Sleep(2 * time.Second) // the agent meets denials the store cannot take
	must(t, os.WriteFile(stop, nil, 0o644))
	code := r.wait(t)
	stderr := r.stderr.String()
	t.Logf("launch stderr:\n%s", stderr)
	if code != 0 {
		t.Errorf("launch exit %d, want the command's 0", code)
	}
	spool := launcher.SpoolRoot(home)
	if !strings.Contains(stderr, "events could not be stored; spooled in "+spool) || !strings.Contains(stderr, "will be delivered by the next bot-bottle") {
		t.Errorf("launch did not say that it spooled events in %s", spool)
	}
	free()

	out, err := e.cli("ps", "--all", "--json")
	must(t, err)
	var list []launcher.Info
	must(t, json.Unmarshal([]byte(out[strings.Index(out, "["):]), &list))
	if len(list) != 1 || list[0].State != schemas.StateExited || list[0].Orphaned {
		t.Fatalf("ps --all after the disk was freed: %s; want the bottle exited", out)
	}
	raw, err := os.ReadFile(count)
	must(t, err)
	made, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	must(t, err)
	out, _ = e.cli("events", "--kind", "denial", "--bottle", r.id, "--last", "100000")
	if got := strings.Count(out, "egress.denial"); got != made {
		t.Errorf("the store holds %d denials of the bottle, the agent met %d", got, made)
	}
	out, _ = e.cli("events", "--kind", "lifecycle", "--bottle", r.id, "--json")
	var last schemas.Event
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "{") {
			must(t, json.Unmarshal([]byte(l), &last))
		}
	}
	var lc schemas.Lifecycle
	must(t, last.Decode(&lc))
	if lc.State != schemas.StateExited || lc.Spooled == 0 {
		t.Errorf("the bottle's last lifecycle event: %+v; want exited, with the count of spooled events", lc)
	}
	if out, err := e.cli("cleanup"); err != nil || !strings.Contains(out, "nothing to clean up") {
		t.Errorf("cleanup: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(spool); len(entries) != 0 {
		t.Errorf("%d spools left after delivery", len(entries))
	}
}

// Parallel launches queue for the store rather than fail: every launch
// exits 0 and prints nothing but its "is running" line, and every bottle
// is recorded from start to end. (The 100-launch benchmark is
// BenchmarkParallelLaunches.)
func TestParallelLaunchesQueueForTheStore(t *testing.T) {
	const n = 30
	e := newE2E(t, "local")
	// The default resources: each bottle has cgroups of its own, whose
	// mounts in the bottle once failed with EPERM about once in fifty
	// launches at this concurrency (a cgroup namespace is a thread's, and
	// the init mounted from whichever thread it was on).
	if code, _, stderr := e.run("true"); code != 0 { // the store exists: the launches meet on its queue
		t.Fatalf("first launch: %s", stderr)
	}
	type result struct {
		err    error
		stderr string
	}
	results := make(chan result, n)
	for range n {
		go func() {
			cmd := e.command(e.launchArgs("true")...)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			err := cmd.Run()
			results <- result{err, errb.String()}
		}()
	}
	for range n {
		res := <-results
		if other := launchNoise(res.stderr); res.err != nil || len(other) > 0 {
			t.Errorf("a parallel launch: %v, stderr beyond its id: %q", res.err, other)
		}
	}
	out, err := e.cli("ps", "--all", "--json")
	must(t, err)
	var list []launcher.Info
	must(t, json.Unmarshal([]byte(out), &list))
	exited := 0
	for _, in := range list {
		if in.State == schemas.StateExited {
			exited++
		}
	}
	if exited != n+1 {
		t.Errorf("ps --all lists %d exited bottles, want %d", exited, n+1)
	}
}

// launchNoise is what a launch printed on stderr beyond the lines every
// launch prints (its bottle's id, whether and where the agent's home is
// kept): the
// warnings and errors.
func launchNoise(stderr string) []string {
	var other []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if l != "" && !idLine.MatchString(l) && !strings.HasPrefix(l, "bot-bottle: the agent's home is kept in ") &&
			!strings.HasPrefix(l, "bot-bottle: the agent's home is not kept: ") {
			other = append(other, l)
		}
	}
	return other
}
