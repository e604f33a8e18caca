package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/docker"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// backends are where the end-to-end bottles run: the local backend, and
// the docker backend under runc ("docker") and under gVisor's runsc
// ("docker-runsc"). Everything a bottle does from inside must work the
// same under both runtimes.
var backends = []string{"local", "docker", "docker-runsc"}

// ownerBackends serve the tests of what the owner and the Engine do with a
// bottle whatever kernel runs it (its owner's death, the headless flags):
// a second runtime would add minutes and no coverage.
var ownerBackends = []string{"local", "docker"}

// backendOf splits a backends entry into the --backend value and the
// runtime its bottles ask for ("" for the local backend).
func backendOf(variant string) (backend, runtime string) {
	if be, rt, ok := strings.Cut(variant, "-"); ok {
		return be, rt
	}
	if variant == docker.Name {
		return variant, schemas.RuntimeRunc
	}
	return variant, ""
}

// isolationScript looks at the bottle from inside and prints what it sees,
// section by section; the test judges on the host. Nothing in it sends a
// packet anywhere but to the bottle's own loopback.
func isolationScript(e *e2e, hostAddr string) string {
	c := e.client
	s := `
echo "=== links"; ip -o link
echo "=== route"; cat /proc/net/route
echo "=== route6"; cat /proc/net/ipv6_route
echo "=== allowed"; ` + c + ` get https://allowed.test/hello
echo "=== denied-connect"; ` + c + ` connect denied.test:443
echo "=== denied-http"; ` + c + ` get http://denied.test/x
echo "=== host-direct"; ` + c + ` dial ` + hostAddr + `
echo "=== env"; env
echo "=== environ"; cat /proc/[0-9]*/environ 2>/dev/null | tr '\0' '\n'
echo "=== shared"; for f in /run/bot-bottle/*; do echo "-- $f"; cat "$f" 2>&1; done
echo "=== host-home"; ls -la ` + e.hostHome + ` 2>&1; cat ` + e.hostHome + `/.codex/auth.json ` + e.hostHome + `/.bashrc 2>&1
echo "=== state"; head -c 16 ` + filepath.Join(e.home, "state.db") + ` 2>&1; echo
echo "=== agent-home"; ls -laR "$HOME" 2>&1
`
	if e.backend == "local" {
		s += `
echo "=== curl-allowed"; curl -sS --max-time 30 https://allowed.test/curl
echo; echo "=== curl-denied"; curl -sS --max-time 30 http://denied.test/y
echo; echo "=== curl-noproxy"; curl -sS --max-time 5 --noproxy '*' http://` + hostAddr + `/; echo "curl-exit=$?"
`
	}
	return s + "echo \"=== end\"\n"
}

func TestLaunchIsolation(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			e := newE2E(t, be)
			host := hostListener(t)
			code, out, errOut := e.run("sh", "-c", isolationScript(e, host.Addr().String()))
			t.Logf("exit %d\nstderr:\n%s\nstdout:\n%s", code, errOut, out)
			if code != 0 {
				t.Fatalf("launch exited %d", code)
			}
			id := idLine.FindStringSubmatch(errOut)
			if id == nil {
				t.Fatalf("no bottle id in stderr")
			}
			sec := sections(out)
			if _, ok := sec["end"]; !ok {
				t.Fatalf("the script did not finish")
			}
			checkLoopbackOnly(t, sec)
			if s := sec["allowed"]; !strings.Contains(s, "status=200") || !strings.Contains(s, "upstream-ok path=/hello auth=yes") {
				t.Errorf("allowed.test through the proxy: %q", s)
			}
			for _, name := range []string{"denied-connect", "denied-http"} {
				checkDenial(t, name, sec[name], id[1])
			}
			if s := sec["host-direct"]; !strings.Contains(s, "connection refused") {
				t.Errorf("a direct connect to the host's loopback must be refused: %q", s)
			}
			if be == "local" {
				if s := sec["curl-allowed"]; !strings.Contains(s, "upstream-ok path=/curl auth=yes") {
					t.Errorf("curl through the proxy: %q", s)
				}
				checkDenial(t, "curl-denied", "status=403\n"+sec["curl-denied"], id[1])
				if s := sec["curl-noproxy"]; !strings.Contains(s, "curl-exit=7") || strings.Contains(s, "reached-the-host") {
					t.Errorf("curl --noproxy to the host's loopback must fail to connect: %q", s)
				}
			}
			if e.authOK.Load() == 0 {
				t.Errorf("the upstream never saw the injected token")
			}
			if !strings.Contains(sec["env"], "GREETING=hello") || !strings.Contains(sec["env"], "BOT_BOTTLE_ID="+id[1]) {
				t.Errorf("env lacks the plan's variables: %q", sec["env"])
			}
			for _, leak := range []string{e.token, hostCodexSecret, hostRCSecret, "SQLite format"} {
				if strings.Contains(out, leak) || strings.Contains(errOut, leak) {
					t.Errorf("the bottle could read %q", redactForLog(leak, e.token))
				}
			}
			if db, err := os.ReadFile(filepath.Join(e.home, "state.db")); err == nil && strings.Contains(string(db), e.token) {
				t.Errorf("the token is in the event store")
			}
			e.assertNothingLeft(id[1])
		})
	}
}

// redactForLog keeps the token itself out of test output.
func redactForLog(s, token string) string {
	if s == token {
		return "the injected token"
	}
	return s
}

// checkLoopbackOnly: one interface (lo, up), no IPv4 route, IPv6 routes
// only through lo.
func checkLoopbackOnly(t *testing.T, sec map[string]string) {
	t.Helper()
	links := strings.TrimSpace(sec["links"])
	if strings.Contains(links, "\n") || !strings.Contains(links, "lo:") || !strings.Contains(links, "UP") {
		t.Errorf("interfaces: want lo only, up; got:\n%s", links)
	}
	if lines := strings.Split(strings.TrimSpace(sec["route"]), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "Iface") {
		t.Errorf("IPv4 routes: want none, got:\n%s", sec["route"])
	}
	for _, l := range strings.Split(strings.TrimSpace(sec["route6"]), "\n") {
		if l != "" && !strings.HasSuffix(strings.TrimSpace(l), " lo") {
			t.Errorf("IPv6 route through a device other than lo: %s", l)
		}
	}
}

// checkDenial parses a "status=403\n{json}" answer as the proxy's
// structured denial.
func checkDenial(t *testing.T, name, s, bottle string) {
	t.Helper()
	status, body, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if status != "status=403" {
		t.Errorf("%s: want 403, got %q", name, s)
		return
	}
	var d schemas.Denial
	if err := json.Unmarshal([]byte(strings.TrimSpace(body)), &d); err != nil {
		t.Errorf("%s: the 403 body is not a denial: %v: %q", name, err, body)
		return
	}
	if d.Host != "denied.test" || d.Bottle != bottle || d.ID == "" || d.Reason == "" || d.Hint == "" {
		t.Errorf("%s: denial %+v: want host denied.test, bottle %s, an id, a reason and a hint", name, d, bottle)
	}
}

func TestLaunchStop(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			e := newE2E(t, be)
			r := e.start("sh", "-c", `trap 'echo got-term; exit 4' TERM; echo ready; while :; do sleep 0.1; done`)
			out, err := e.cli("ps", "--json")
			must(t, err)
			var list []launcher.Info
			must(t, json.Unmarshal([]byte(out), &list))
			if len(list) != 1 || list[0].ID != r.id || list[0].State != schemas.StateRunning || list[0].Orphaned {
				t.Fatalf("ps: %s", out)
			}
			sock := filepath.Join(launcher.RunDirOf(e.home, r.id).Shared(), launcher.ProxySocket)
			if _, err := os.Stat(sock); err != nil {
				t.Fatalf("proxy socket: %v", err)
			}
			logs, err := e.cli("logs", r.id)
			if err != nil || !strings.Contains(logs, "ready") {
				t.Errorf("logs: %v %q", err, logs)
			}
			// logs -f, in its own process, follows the bottle to its end.
			follow := e.command("logs", "-f", "--timestamps", r.id)
			var followed strings.Builder
			follow.Stdout = &followed
			must(t, follow.Start())
			followDone := make(chan error, 1)
			go func() { followDone <- follow.Wait() }()
			if out, err := e.cli("stop", r.id); err != nil {
				t.Fatalf("stop: %v\n%s", err, out)
			}
			if code := r.wait(t); code != 4 {
				t.Errorf("launch exit code %d, want 4 (the command's trap)", code)
			}
			select {
			case err := <-followDone:
				if err != nil || !timedLine("ready").MatchString(followed.String()) || !timedLine("got-term").MatchString(followed.String()) {
					t.Errorf("logs -f --timestamps: %v\n%s", err, followed.String())
				}
			case <-time.After(time.Minute):
				_ = follow.Process.Kill()
				t.Error("logs -f did not end with the bottle")
			}
			if last, err := e.cli("logs", "--tail", "1", r.id); err != nil || last != "got-term\n" {
				t.Errorf("logs --tail 1 after the end: %v %q", err, last)
			}
			e.assertNothingLeft(r.id)
			out, _ = e.cli("ps", "--all", "--json")
			if !strings.Contains(out, `"state": "exited"`) {
				t.Errorf("ps --all: want the bottle exited: %s", out)
			}
		})
	}
}

// TestLaunchOwnerKilled kills the owning bot-bottle process with SIGKILL
// (no teardown runs) and checks that each way of noticing cleans up
// everything: bot-bottle cleanup, bot-bottle stop of the orphan, and the
// next launch.
func TestLaunchOwnerKilled(t *testing.T) {
	endings := map[string]func(e *e2e, id string) (string, error){
		"cleanup": func(e *e2e, _ string) (string, error) { return e.cli("cleanup") },
		"stop":    func(e *e2e, id string) (string, error) { return e.cli("stop", id) },
		"next-launch": func(e *e2e, _ string) (string, error) {
			out, err := e.command(e.launchArgs("true")...).CombinedOutput()
			return string(out), err
		},
	}
	for _, be := range ownerBackends {
		for name, end := range endings {
			t.Run(be+"/"+name, func(t *testing.T) {
				e := newE2E(t, be)
				r := e.start("sh", "-c", `echo ready; exec sleep 300`)
				must(t, r.cmd.Process.Kill())
				r.wait(t)
				out, _ := e.cli("ps")
				if !strings.Contains(out, "orphaned") {
					t.Errorf("ps after SIGKILL of the owner: want the bottle orphaned:\n%s", out)
				}
				out, err := end(e, r.id)
				t.Logf("%s:\n%s", name, out)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				e.assertNothingLeft(r.id)
				if out, _ := e.cli("cleanup"); !strings.Contains(out, "nothing to clean up") {
					t.Errorf("cleanup afterwards: %s", out)
				}
				out, _ = e.cli("ps", "--all")
				if !strings.Contains(out, r.id) || !strings.Contains(out, "failed") {
					t.Errorf("ps --all: want %s recorded as failed:\n%s", r.id, out)
				}
			})
		}
	}
}

// TestLaunchSignalled: SIGTERM to `bot-bottle launch` stops its bottle the
// same way stop does, and launch exits with the command's code.
func TestLaunchSignalled(t *testing.T) {
	for _, be := range ownerBackends { // stop and its signal under runsc: TestLaunchStop
		t.Run(be, func(t *testing.T) {
			e := newE2E(t, be)
			r := e.start("sh", "-c", `trap 'exit 4' TERM; echo ready; while :; do sleep 0.1; done`)
			must(t, r.cmd.Process.Signal(syscall.SIGTERM))
			if code := r.wait(t); code != 4 {
				t.Errorf("launch exit code %d, want 4", code)
			}
			e.assertNothingLeft(r.id)
		})
	}
}

func TestLaunchRefusals(t *testing.T) {
	e := newE2E(t, "local")
	cases := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"unknown backend", []string{"launch", "--backend", "vm", "demo", "--", "true"}, nil, `unknown backend "vm"`},
		{"missing token", []string{"launch", "--workdir", e.workdir, "demo", "--", "true"}, []string{"TEST_TOKEN="}, "TEST_TOKEN is empty"},
		{"workdir holds home", []string{"launch", "--workdir", e.base, "demo", "--", "true"}, nil, "which a bottle must not see"},
		{"unknown bottle", []string{"launch", "nope", "--", "true"}, nil, "not found"},
		{"no command", []string{"launch", "demo"}, nil, "no command"},
		{"two names", []string{"launch", "demo", "other"}, nil, "launch takes one bottle NAME"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := e.command(c.args...)
			cmd.Env = append(append([]string{}, e.env...), c.env...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), c.want) {
				t.Errorf("%v: err %v, output %q; want an error containing %q", c.args, err, out, c.want)
			}
			if entries, _ := os.ReadDir(launcher.RunRoot(e.home)); len(entries) > 0 {
				t.Errorf("a refused launch left a run folder")
			}
			if strings.Contains(string(out), e.token) {
				t.Errorf("the token is in the error output")
			}
		})
	}
}

// timedLine matches a line of logs --timestamps that says text.
func timedLine(text string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ` + regexp.QuoteMeta(text) + `$`)
}
