package gitgate

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bot-bottle/bot-bottle/dlp"
	"github.com/bot-bottle/bot-bottle/dlp/dlptest"
	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/internal/gitupstream"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// fakeOperator is a Supervisor whose decisions the test makes.
type fakeOperator struct {
	mu     sync.Mutex
	asked  []schemas.PushReview
	status map[string]string
}

func (f *fakeOperator) ProposePush(_ context.Context, p schemas.PushReview) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, p)
	id := fmt.Sprintf("p-%d", len(f.asked))
	f.status[id] = schemas.ProposalPending
	return id, nil
}

func (f *fakeOperator) PushStatus(_ context.Context, id string) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status[id], "", nil
}

func (f *fakeOperator) decide(id, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status[id] = status
}

// gateFixture is a gate in front of an https upstream, and an agent-side
// git whose config rewrites the upstream's URL to the gate.
type gateFixture struct {
	up       *gitupstream.HTTPS
	bare     string
	gate     *Gate
	op       *fakeOperator
	pub      *events.Memory
	agentEnv []string
	url      string // the upstream URL as the agent names it
	tune     func(*Config)
}

func newGateFixture(t testing.TB, token string, repo func(*Repo), commits ...map[string]string) *gateFixture {
	t.Helper()
	return newTunedGateFixture(t, token, repo, nil, commits...)
}

// newTunedGateFixture is newGateFixture with the gate's Config tuned.
func newTunedGateFixture(t testing.TB, token string, repo func(*Repo), tune func(*Config), commits ...map[string]string) *gateFixture {
	t.Helper()
	up := gitupstream.NewHTTPS(t, "git.test", token)
	f := &gateFixture{up: up, bare: gitupstream.NewRepo(t, up.Root, "app", commits...), op: &fakeOperator{status: map[string]string{}},
		pub: &events.Memory{}}
	f.url = up.URL("app")
	u, why, _ := schemas.ParseGitURL(f.url)
	if why != "" {
		t.Fatal(why)
	}
	r := Repo{Name: "app", URL: u, Push: []string{"agent/*"},
		Cred: Credential{Kind: schemas.GitAuthToken, Username: schemas.DefaultGitUsername, Token: schemas.NewSecret(token)}}
	if repo != nil {
		repo(&r)
	}
	f.tune = tune
	f.start(t, r, up.CAFile, map[string]string{fmt.Sprintf("git.test:%d", up.Port): up.Addr()})
	return f
}

// newSSHGateFixture is newGateFixture with an ssh upstream: sshd on
// loopback that admits the gate's key alone.
func newSSHGateFixture(t testing.TB) (*gateFixture, *gitupstream.SSH) {
	t.Helper()
	up := gitupstream.NewSSH(t, "git.test")
	f := &gateFixture{bare: gitupstream.NewRepo(t, up.Root, "app"), op: &fakeOperator{status: map[string]string{}}, pub: &events.Memory{}}
	f.url = up.URL("app")
	u, why, _ := schemas.ParseGitURL(f.url)
	if why != "" {
		t.Fatal(why)
	}
	r := Repo{Name: "app", URL: u, Push: []string{"agent/*"},
		Cred: Credential{Kind: schemas.GitAuthSSH, KeyFile: up.KeyFile, KnownHostsFile: up.KnownHostsFile}}
	f.start(t, r, "", map[string]string{fmt.Sprintf("git.test:%d", up.Port): up.Addr()})
	return f, up
}

// start serves a gate for r and points the agent's git at it.
func (f *gateFixture) start(t testing.TB, r Repo, caFile string, resolve map[string]string) {
	t.Helper()
	det, err := dlp.NewDetector(nil)
	if err != nil {
		t.Fatal(err)
	}
	gcfg := Config{Bottle: "b-test", Repos: []Repo{r}, Dir: t.TempDir(), PATH: os.Getenv("PATH"), Detector: det,
		Publisher: f.pub, UpstreamCAFile: caFile, Resolve: resolve}
	if f.tune != nil {
		f.tune(&gcfg)
	}
	g, err := New(gcfg)
	if err != nil {
		t.Fatal(err)
	}
	g.SetSupervisor(f.op)
	f.gate = g
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	cfg := filepath.Join(t.TempDir(), "gitconfig")
	u2, _, _ := schemas.ParseGitURL(f.url)
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("[url %q]\n\tinsteadOf = %q\n", srv.URL+"/app", u2.Base())), 0o644); err != nil {
		t.Fatal(err)
	}
	f.agentEnv = []string{"GIT_CONFIG_GLOBAL=" + cfg}
}

// agent runs the agent's git in dir.
func (f *gateFixture) agent(dir string, args ...string) (string, error) {
	out, err := gitupstream.GitErr(dir, f.agentEnv, args...)
	if err != nil {
		return out, err
	}
	return out, nil
}

func (f *gateFixture) mustAgent(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := f.agent(dir, args...)
	if err != nil {
		t.Fatalf("agent git %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// clone clones through the gate and returns the work tree.
func (f *gateFixture) clone(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app")
	f.mustAgent(t, filepath.Dir(dir), "clone", "--quiet", f.url, dir)
	return dir
}

func commitFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	gitupstream.Git(t, dir, "add", name)
	gitupstream.Git(t, dir, "commit", "--quiet", "-m", "add "+name)
	return strings.TrimSpace(gitupstream.Git(t, dir, "rev-parse", "HEAD"))
}

// pushes returns the git.push events published so far.
func (f *gateFixture) pushes(t testing.TB) []schemas.GitPush {
	t.Helper()
	var out []schemas.GitPush
	for _, ev := range f.pub.Events() {
		if ev.Kind != schemas.KindGitPush {
			continue
		}
		var p schemas.GitPush
		if err := ev.Decode(&p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestGateClonePushAndRules(t *testing.T) {
	token := dlptest.Random(32)
	f := newGateFixture(t, token, nil)
	dir := f.clone(t)
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Fatalf("the clone through the gate has no README: %v", err)
	}

	// A clean branch lands upstream, with the host credential.
	gitupstream.Git(t, dir, "checkout", "--quiet", "-b", "agent/clean")
	head := commitFile(t, dir, "clean.txt", "nothing to see\n")
	f.mustAgent(t, dir, "push", "--quiet", "origin", "agent/clean")
	if got := gitupstream.Ref(t, f.bare, "refs/heads/agent/clean"); got != head {
		t.Fatalf("upstream agent/clean = %q, want %s", got, head)
	}

	// main is not among the push patterns.
	gitupstream.Git(t, dir, "checkout", "--quiet", "main")
	before := gitupstream.Ref(t, f.bare, "refs/heads/main")
	commitFile(t, dir, "main.txt", "x\n")
	out, err := f.agent(dir, "push", "origin", "main")
	if err == nil || !strings.Contains(err.Error(), "branch main is not one this bottle may push") {
		t.Fatalf("push to main: %v %s", err, out)
	}
	if gitupstream.Ref(t, f.bare, "refs/heads/main") != before {
		t.Fatal("the refused push to main reached the upstream")
	}

	// A force push is refused.
	gitupstream.Git(t, dir, "checkout", "--quiet", "agent/clean")
	gitupstream.Git(t, dir, "commit", "--quiet", "--amend", "-m", "rewritten")
	_, err = f.agent(dir, "push", "--force", "origin", "agent/clean")
	if err == nil || !strings.Contains(err.Error(), "non-fast-forward: force pushes are refused") {
		t.Fatalf("force push: %v", err)
	}
	if gitupstream.Ref(t, f.bare, "refs/heads/agent/clean") != head {
		t.Fatal("the refused force push reached the upstream")
	}
	// And so is a deletion.
	_, err = f.agent(dir, "push", "origin", ":agent/clean")
	if err == nil || !strings.Contains(err.Error(), "deleting a branch is refused") {
		t.Fatalf("delete: %v", err)
	}

	ps := f.pushes(t)
	if len(ps) != 4 || ps[0].Verdict != schemas.PushForwarded || ps[1].Verdict != schemas.PushRefused {
		t.Fatalf("push events: %+v", ps)
	}
	if served, refused := f.up.Counts(); served == 0 || refused != 0 {
		t.Fatalf("upstream served %d, refused %d for their credential", served, refused)
	}
}

func TestGateSecretRefusedThenApproved(t *testing.T) {
	token := dlptest.Random(32)
	f := newGateFixture(t, token, nil)
	dir := f.clone(t)
	gitupstream.Git(t, dir, "checkout", "--quiet", "-b", "agent/keys")
	key := dlptest.AWSKeyID()
	commit := commitFile(t, dir, "config.py", "# settings\nregion = 'eu'\naws_access_key_id = '"+key+"'\n")
	_, err := f.agent(dir, "push", "origin", "agent/keys")
	if err == nil {
		t.Fatal("a push with an AWS key went through")
	}
	msg := err.Error()
	for _, want := range []string{"aws-access-token", `"config.py" line 3`, commit[:12], "proposal p-1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the agent's git does not print %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, key) {
		t.Error("the refusal prints the secret")
	}
	if gitupstream.Ref(t, f.bare, "refs/heads/agent/keys") != "" {
		t.Fatal("the refused push reached the upstream")
	}
	// Retried before a decision: refused, the same proposal named.
	if _, err := f.agent(dir, "push", "origin", "agent/keys"); err == nil || !strings.Contains(err.Error(), "still waits for the operator") {
		t.Fatalf("retry while pending: %v", err)
	}
	if len(f.op.asked) != 1 {
		t.Fatalf("the operator was asked %d times", len(f.op.asked))
	}
	f.op.decide("p-1", schemas.ProposalApproved)
	f.mustAgent(t, dir, "push", "--quiet", "origin", "agent/keys")
	if gitupstream.Ref(t, f.bare, "refs/heads/agent/keys") != commit {
		t.Fatal("the approved push did not land")
	}
	for _, ev := range f.pub.Events() {
		if strings.Contains(string(ev.Payload), key) {
			t.Fatalf("event %s carries the secret", ev.Kind)
		}
	}
}

func TestGateOldSecretDoesNotBlockNewBranch(t *testing.T) {
	f := newGateFixture(t, dlptest.Random(32), nil,
		map[string]string{"README.md": "# app\n"},
		map[string]string{"old.env": "AWS_ACCESS_KEY_ID=" + dlptest.AWSKeyID() + "\n"})
	dir := f.clone(t)
	gitupstream.Git(t, dir, "checkout", "--quiet", "-b", "agent/new")
	head := commitFile(t, dir, "new.txt", "fine\n")
	f.mustAgent(t, dir, "push", "--quiet", "origin", "agent/new")
	if gitupstream.Ref(t, f.bare, "refs/heads/agent/new") != head {
		t.Fatal("a secret already upstream blocked a new branch")
	}
	if ps := f.pushes(t); len(ps) != 1 || ps[0].Commits != 1 {
		t.Fatalf("scanned %+v, want the one new commit", ps)
	}
}

func TestGateUnreachableUpstreamFailsClosed(t *testing.T) {
	f := newGateFixture(t, dlptest.Random(32), func(r *Repo) {
		r.Cred.Token = schemas.NewSecret("wrong-token-value")
	})
	out, err := f.agent(t.TempDir(), "clone", f.url, "app")
	if err == nil || !strings.Contains(err.Error(), "cannot be reached") {
		t.Fatalf("clone with a refused credential: %v %s", err, out)
	}
	if strings.Contains(err.Error(), "wrong-token-value") {
		t.Fatal("the error prints the credential")
	}
}
