package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/dlp/dlptest"
	"github.com/bot-bottle/bot-bottle/internal/gitupstream"
	"github.com/bot-bottle/bot-bottle/launcher/docker"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// gitGateScript is what the agent does in the bottle, with the real git:
// clone through the gate, push a clean branch, try main, push a commit
// that holds an AWS key (refused), wait for the operator and push it
// again, then dump everything it can see that might hold a credential.
const gitGateScript = `#!/bin/sh
W="$PWD"
git clone -q "$REPO_URL" app 2>"$W/clone.err" || { echo clone-failed; cat "$W/clone.err"; exit 3; }
echo cloned
cd app
git checkout -q -b agent/clean && echo ok > clean.txt && git add clean.txt && git commit -qm clean
git push -q origin agent/clean 2>"$W/clean.err" && echo clean-pushed || { echo clean-refused; cat "$W/clean.err"; }
git checkout -q main && echo m > m.txt && git add m.txt && git commit -qm main
git push origin main >"$W/main.txt" 2>&1 && echo main-pushed || echo main-refused
git checkout -q -b agent/keys && cp "$W/key.txt" config.py && git add config.py && git commit -qm keys
git push origin agent/keys >"$W/keys.txt" 2>&1 && echo keys-pushed-at-once || echo keys-refused
i=0
until git push -q origin agent/keys 2>/dev/null; do
  i=$((i+1)); [ $i -gt 180 ] && { echo keys-never-landed; exit 4; }
  sleep 1
done
echo keys-pushed
{ env; git config --list --show-origin; cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline
  find "$HOME" /run/bot-bottle /tmp "$W" -type f -size -4M ! -name view.dump -exec cat {} + ; } >"$W/view.dump" 2>/dev/null
echo done
`

func TestGitGateInBottleLocal(t *testing.T) { testGitGateInBottle(t, "local", httpsUpstream) }

// TestGitGateInBottleDocker runs the same agent in a container whose image
// holds the host's git (gitAgentImage): the gate reaches it the same way.
func TestGitGateInBottleDocker(t *testing.T) { testGitGateInBottle(t, "docker", httpsUpstream) }

// TestGitGateInBottleDockerRunsc: the same under gVisor, whose netstack
// carries the bottle's loopback relay to the gate.
func TestGitGateInBottleDockerRunsc(t *testing.T) {
	testGitGateInBottle(t, "docker-runsc", httpsUpstream)
}

// TestGitGateInBottleSSHLocal and TestGitGateInBottleSSHDocker: the same
// agent, its repo on an ssh upstream (sshd on loopback) that the gate
// reaches with the host's key and known_hosts; the bottle still speaks
// smart HTTP to the gate and never sees the key.
func TestGitGateInBottleSSHLocal(t *testing.T)  { testGitGateInBottle(t, "local", sshUpstream) }
func TestGitGateInBottleSSHDocker(t *testing.T) { testGitGateInBottle(t, "docker", sshUpstream) }

// gateUpstream is a git upstream as a launch sees it: its repos' folder,
// the auth the manifest gives, the host variables and flags that launch
// needs, and the credential that must never reach the bottle.
type gateUpstream struct {
	root, url, auth string
	env, args       []string
	secret          string
}

func httpsUpstream(t *testing.T) gateUpstream {
	token := "gg-" + dlptest.Random(40)
	up := gitupstream.NewHTTPS(t, "git.test", token)
	return gateUpstream{root: up.Root, url: up.URL("app"), auth: "{token_ref: GIT_GATE_TOKEN}",
		env:    []string{"GIT_GATE_TOKEN=" + token},
		args:   []string{"--upstream-ca", up.CAFile, "--resolve", fmt.Sprintf("git.test:%d=%s", up.Port, up.Addr())},
		secret: token}
}

func sshUpstream(t *testing.T) gateUpstream {
	up := gitupstream.NewSSH(t, "git.test")
	key, err := os.ReadFile(up.KeyFile)
	must(t, err)
	// The private key's first line of base64 stands for all of it.
	lines := strings.Split(string(key), "\n")
	if len(lines) < 3 || len(lines[1]) < 40 {
		t.Fatalf("an unexpected private key file (%d lines)", len(lines))
	}
	return gateUpstream{root: up.Root, url: up.URL("app"), auth: "{ssh_key_ref: GIT_SSH_KEY_FILE, known_hosts_ref: GIT_KNOWN_HOSTS}",
		env:    []string{"GIT_SSH_KEY_FILE=" + up.KeyFile, "GIT_KNOWN_HOSTS=" + up.KnownHostsFile},
		args:   []string{"--resolve", fmt.Sprintf("git.test:%d=%s", up.Port, up.Addr())},
		secret: lines[1]}
}

func testGitGateInBottle(t *testing.T, backend string, upstream func(*testing.T) gateUpstream) {
	e := newE2E(t, backend)
	up := upstream(t)
	token := up.secret
	bare := gitupstream.NewRepo(t, up.root, "app")
	mainBefore := gitupstream.Ref(t, bare, "refs/heads/main")
	head := runtimeLine(e.runtime)
	if e.backend == docker.Name {
		head += "agent_provider: {template: command, image: " + gitAgentImage(t) + "}\n"
	}
	must(t, os.WriteFile(filepath.Join(e.home, "bottles", "gate.yaml"), []byte(head+fmt.Sprintf(`env: {REPO_URL: %q}
git-gate:
  user: {name: bot-bottle agent, email: agent@example.invalid}
  repos:
    app:
      url: %s
      auth: %s
`, up.url, up.url, up.auth)), 0o644))
	aws := dlptest.AWSKeyID()
	must(t, os.WriteFile(filepath.Join(e.workdir, "key.txt"), []byte("region = 'eu'\naws_access_key_id = '"+aws+"'\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(e.workdir, "agent.sh"), []byte(gitGateScript), 0o755))

	args := append([]string{"launch", "--backend", e.backend, "--workdir", e.workdir}, up.args...)
	cmd := e.command(append(args, "gate", "--", "/bin/sh", filepath.Join(e.workdir, "agent.sh"))...)
	cmd.Env = append(cmd.Env, up.env...)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	must(t, cmd.Start())
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_ = cmd.Wait()
		close(done)
		close(lines)
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok || l != want {
				t.Fatalf("the agent said %q (open %v), want %q; launch said:\n%s", l, ok, want, stderr.String())
			}
		case <-time.After(3 * time.Minute):
			t.Fatalf("the agent did not say %q; launch said:\n%s", want, stderr.String())
		}
	}
	expect("cloned")
	expect("clean-pushed")
	expect("main-refused")
	expect("keys-refused")
	if gitupstream.Ref(t, bare, "refs/heads/main") != mainBefore {
		t.Fatal("the refused push to main reached the upstream")
	}
	if gitupstream.Ref(t, bare, "refs/heads/agent/keys") != "" {
		t.Fatal("the push with a secret reached the upstream")
	}
	mainTxt, _ := os.ReadFile(filepath.Join(e.workdir, "main.txt"))
	keysTxt, _ := os.ReadFile(filepath.Join(e.workdir, "keys.txt"))
	if !strings.Contains(string(mainTxt), "branch main is not one this bottle may push") {
		t.Errorf("the agent's git printed for main:\n%s", mainTxt)
	}
	for _, want := range []string{"remote: bot-bottle git gate: push to app refused", "aws-access-token in \"config.py\" line 2", "proposal p-"} {
		if !strings.Contains(string(keysTxt), want) {
			t.Errorf("the agent's git does not print %q:\n%s", want, keysTxt)
		}
	}
	if bytes.Contains(keysTxt, []byte(aws)) {
		t.Error("the refusal prints the secret")
	}

	// The operator, in another process, sees the push proposal and
	// approves it; the agent's retried push lands.
	var v review.View
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		out, err := e.command("review", "--json").Output()
		must(t, err)
		var views []review.View
		must(t, json.Unmarshal(out, &views))
		if len(views) == 1 {
			v = views[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no push proposal; launch said:\n%s", stderr.String())
		}
	}
	if v.Kind != schemas.ProposalPush || v.Push == nil || v.Push.Findings[0].Rule != "aws-access-token" || v.Push.Findings[0].File != "config.py" {
		t.Fatalf("proposal: %+v", v)
	}
	if out, err := e.cli("review"); err != nil || !strings.Contains(out, "release a push to app") || strings.Contains(out, aws) {
		t.Fatalf("review lists the push as:\n%s (%v)", out, err)
	}
	if out, err := e.cli("review", "approve", v.ID, "--reason", "test fixture key"); err != nil || !strings.HasPrefix(out, "approved "+v.ID) {
		t.Fatalf("review approve: %v\n%s", err, out)
	}
	expect("keys-pushed")
	expect("done")
	if gitupstream.Ref(t, bare, "refs/heads/agent/keys") == "" || gitupstream.Ref(t, bare, "refs/heads/agent/clean") == "" {
		t.Fatal("the approved or the clean push is not upstream")
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("launch did not end with its command")
	}
	// The credential never entered the bottle: not in its environment, its
	// processes, its git config, its home, its run folder view, its /tmp
	// or its workdir.
	view, err := os.ReadFile(filepath.Join(e.workdir, "view.dump"))
	must(t, err)
	if len(view) < 1000 || !bytes.Contains(view, []byte("insteadof")) {
		t.Fatalf("the bottle's view dump is too small to mean anything (%d bytes)", len(view))
	}
	if bytes.Contains(view, []byte(token)) {
		t.Fatal("the bottle could see the git credential")
	}
	if strings.Contains(stderr.String(), token) || strings.Contains(stderr.String(), aws) {
		t.Fatal("launch's output carries a secret")
	}
	_ = filepath.WalkDir(e.home, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(token)) || bytes.Contains(b, []byte(aws)) {
				t.Errorf("%s carries a secret", p)
			}
		}
		return nil
	})
	audit, _ := os.ReadFile(filepath.Join(e.home, "audit", "audit.jsonl"))
	if n := bytes.Count(audit, []byte(`"kind":"git.push"`)); n < 4 {
		t.Errorf("the audit log has %d git.push lines, want one per push", n)
	}
}
