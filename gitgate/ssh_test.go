package gitgate

import (
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/dlp/dlptest"
	"github.com/bot-bottle/bot-bottle/internal/gitupstream"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// TestGateSSHUpstream: over ssh, the gate clones and fetches with the
// operator's key and strict host key checking, forwards a clean push,
// refuses main and a commit with a secret before anything reaches sshd.
func TestGateSSHUpstream(t *testing.T) {
	f, up := newSSHGateFixture(t)
	dir := f.clone(t)
	gitupstream.Git(t, dir, "checkout", "--quiet", "-b", "agent/clean")
	head := commitFile(t, dir, "clean.txt", "over ssh\n")
	f.mustAgent(t, dir, "push", "--quiet", "origin", "agent/clean")
	if got := gitupstream.Ref(t, f.bare, "refs/heads/agent/clean"); got != head {
		t.Fatalf("upstream agent/clean = %q, want %s\nsshd:\n%s", got, head, up.Log())
	}
	if log := up.Log(); !strings.Contains(log, "Accepted publickey") {
		t.Errorf("sshd never accepted the gate's key:\n%s", log)
	}

	gitupstream.Git(t, dir, "checkout", "--quiet", "main")
	before := gitupstream.Ref(t, f.bare, "refs/heads/main")
	commitFile(t, dir, "main.txt", "x\n")
	if _, err := f.agent(dir, "push", "origin", "main"); err == nil || !strings.Contains(err.Error(), "branch main is not one this bottle may push") {
		t.Fatalf("push to main over ssh: %v", err)
	}
	gitupstream.Git(t, dir, "checkout", "--quiet", "-b", "agent/keys")
	key := dlptest.AWSKeyID()
	commitFile(t, dir, "config.py", "aws_access_key_id = '"+key+"'\n")
	_, err := f.agent(dir, "push", "origin", "agent/keys")
	if err == nil || !strings.Contains(err.Error(), "aws-access-token") || strings.Contains(err.Error(), key) {
		t.Fatalf("push with a key over ssh: %v", err)
	}
	if gitupstream.Ref(t, f.bare, "refs/heads/main") != before || gitupstream.Ref(t, f.bare, "refs/heads/agent/keys") != "" {
		t.Fatal("a refused push reached the ssh upstream")
	}
	if ps := f.pushes(t); len(ps) != 3 || ps[0].Verdict != schemas.PushForwarded {
		t.Fatalf("push events: %+v", ps)
	}
}

// TestGateSSHUnknownHostKeyFailsClosed: a host key that known_hosts does
// not name (a server in the middle, or a rebuilt one) stops the gate
// before it sends anything; the agent is told the upstream cannot be
// reached.
func TestGateSSHUnknownHostKeyFailsClosed(t *testing.T) {
	f, up := newSSHGateFixture(t)
	other := gitupstream.NewSSH(t, "git.test")
	gitupstream.WriteKnownHosts(t, up.KnownHostsFile, other)
	_, err := f.agent(t.TempDir(), "clone", f.url, "app")
	if err == nil || !strings.Contains(err.Error(), "cannot be reached") {
		t.Fatalf("clone past a host key known_hosts does not name: %v", err)
	}
	if strings.Contains(up.Log(), "Accepted publickey") {
		t.Fatal("the gate authenticated to a host whose key it does not know")
	}
}
