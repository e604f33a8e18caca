package gitgate

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/dlp/dlptest"
	"github.com/bot-bottle/bot-bottle/internal/gitupstream"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// The agent controls every byte it pushes: these tests push what a
// hostile agent would craft (with the real git, object by object), and
// check that nothing the scan cannot see reaches the upstream.

// writeObject stores a hand-written object in the agent's clone and
// returns its id.
func writeObject(t *testing.T, dir, typ, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "object")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(gitupstream.Git(t, dir, "hash-object", "-t", typ, "-w", p))
}

// pushRefused pushes branch and checks that the gate refused it for rule,
// and that the upstream did not get it.
func (f *gateFixture) pushRefused(t *testing.T, dir, branch, rule string) string {
	t.Helper()
	out, err := f.agent(dir, "push", "origin", branch)
	if err == nil {
		t.Fatalf("the push of %s went through:\n%s", branch, out)
	}
	if rule != "" && !strings.Contains(err.Error(), rule) {
		t.Errorf("the refusal of %s does not name %s:\n%v", branch, rule, err)
	}
	if got := gitupstream.Ref(t, f.bare, "refs/heads/"+branch); got != "" {
		t.Fatalf("the upstream got %s = %s", branch, got)
	}
	return err.Error()
}

// TestGateAttackSecretInCommitObject: a secret that lives in the commit
// object itself, outside the message and the files: the author or
// committer, a header git keeps but does not show, or a message hidden
// behind an encoding header that makes git re-encode it (UTF-16 turns
// ASCII into CJK characters; the upstream stores the raw bytes).
func TestGateAttackSecretInCommitObject(t *testing.T) {
	f := newGateFixture(t, dlptest.Random(32), nil)
	dir := f.clone(t)
	tree := strings.TrimSpace(gitupstream.Git(t, dir, "rev-parse", "HEAD^{tree}"))
	parent := strings.TrimSpace(gitupstream.Git(t, dir, "rev-parse", "HEAD"))
	head := "tree " + tree + "\nparent " + parent + "\n"
	who := "A U Thor <a@example.invalid> 1700000000 +0000\n"
	for name, object := range map[string]func(key string) string{
		"author": func(key string) string {
			return head + "author " + key + " <a@example.invalid> 1700000000 +0000\ncommitter " + who + "\nplain\n"
		},
		"committer-email": func(key string) string {
			return head + "author " + who + "committer A <" + key + "@example.invalid> 1700000000 +0000\n\nplain\n"
		},
		"extra-header": func(key string) string {
			return head + "author " + who + "committer " + who + "x-note " + key + "\n\nplain\n"
		},
		"gpgsig": func(key string) string {
			return head + "author " + who + "committer " + who +
				"gpgsig -----BEGIN PGP SIGNATURE-----\n \n " + key + "\n -----END PGP SIGNATURE-----\n\nplain\n"
		},
		// Both lengths: iconv refuses half a UTF-16 unit, and git then
		// shows the message as it is.
		"encoding-odd": func(key string) string {
			return head + "author " + who + "committer " + who + "encoding UTF-16LE\n\nsettings: aws_access_key_id = " + key + "\n"
		},
		"encoding-even": func(key string) string {
			return head + "author " + who + "committer " + who + "encoding UTF-16LE\n\nsettings: aws_access_key_id = " + key + "!\n"
		},
	} {
		t.Run(name, func(t *testing.T) {
			id := writeObject(t, dir, "commit", object(dlptest.AWSKeyID()))
			branch := "agent/" + name
			gitupstream.Git(t, dir, "update-ref", "refs/heads/"+branch, id)
			f.pushRefused(t, dir, branch, "aws-access-token")
		})
	}
}

// TestGateAttackOctopusMerge: git's remerge diff skips a merge of more
// than two parents ("Skipping remerge-diff for octopus merges"), so the
// files such a merge adds of its own were never shown to the scan.
func TestGateAttackOctopusMerge(t *testing.T) {
	f := newGateFixture(t, dlptest.Random(32), nil)
	dir := f.clone(t)
	var parents []string
	for _, name := range []string{"a.txt", "b.txt", "c.txt"} {
		gitupstream.Git(t, dir, "checkout", "--quiet", "--detach", "main")
		parents = append(parents, commitFile(t, dir, name, "part "+name+"\n"))
	}
	gitupstream.Git(t, dir, "checkout", "--quiet", "-b", "agent/octopus", parents[0])
	for _, name := range []string{"b.txt", "c.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("part "+name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "deploy.env"), []byte("AWS_ACCESS_KEY_ID="+dlptest.AWSKeyID()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitupstream.Git(t, dir, "add", "-A")
	tree := strings.TrimSpace(gitupstream.Git(t, dir, "write-tree"))
	args := []string{"commit-tree", tree, "-m", "merge three"}
	for _, p := range parents {
		args = append(args, "-p", p)
	}
	octopus := strings.TrimSpace(gitupstream.Git(t, dir, args...))
	gitupstream.Git(t, dir, "update-ref", "refs/heads/agent/octopus", octopus)
	msg := f.pushRefused(t, dir, "agent/octopus", "aws-access-token")
	if !strings.Contains(msg, `"deploy.env"`) {
		t.Errorf("the refusal does not name the file:\n%s", msg)
	}
}

// TestGateAttackFindingsBeyondTheBound: the scan keeps at most
// maxFindings findings, and the operator releases commits. A newer commit
// full of decoys fills the bound; an older commit's real secret was never
// a finding, so releasing the decoys' commit must not let it through.
func TestGateAttackFindingsBeyondTheBound(t *testing.T) {
	f := newGateFixture(t, dlptest.Random(32), nil)
	dir := f.clone(t)
	gitupstream.Git(t, dir, "checkout", "--quiet", "-b", "agent/decoys")
	commitFile(t, dir, "real.env", "AWS_ACCESS_KEY_ID="+dlptest.AWSKeyID()+"\n")
	var decoys strings.Builder
	for range maxFindings + 5 {
		fmt.Fprintf(&decoys, "fixture_key = %q\n", dlptest.AWSKeyID())
	}
	commitFile(t, dir, "fixtures.txt", decoys.String())
	f.pushRefused(t, dir, "agent/decoys", "")
	for i, p := range f.op.asked {
		f.op.decide(fmt.Sprintf("p-%d", i+1), schemas.ProposalApproved)
		for _, fd := range p.Findings {
			if fd.File == "real.env" {
				return // the operator saw it: releasing it is their call
			}
		}
	}
	f.pushRefused(t, dir, "agent/decoys", "")
}

// TestGateAttackExpansionBomb: a blob of one repeated byte packs about a
// thousand times smaller than it is, so the pack's bound says nothing of
// what the scan inflates. The gate must refuse a blob over its bound
// before git diffs it, and never hold a line of the log beyond its bound
// (one 48 MiB line here; gigabytes from a push of a few megabytes).
func TestGateAttackExpansionBomb(t *testing.T) {
	const bound = 1 << 20
	f := newTunedGateFixture(t, dlptest.Random(32), nil, func(c *Config) { c.MaxScan = bound })
	dir := f.clone(t)
	gitupstream.Git(t, dir, "checkout", "--quiet", "-b", "agent/bomb")
	commitFile(t, dir, "bomb.txt", strings.Repeat("a", 48<<20))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	msg := f.pushRefused(t, dir, "agent/bomb", "larger than the gate scans")
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("refusing a push of a 48 MiB blob (bound %d) allocated %d MiB in the gate", bound, grew>>20)
	}
	if !strings.Contains(msg, "blob") {
		t.Errorf("the refusal does not say a blob is over the bound:\n%s", msg)
	}
}

// TestGateAttackReleaseCoversOnlyReviewedCommits: the operator's release
// covers the commits they reviewed, by id, and nothing else. A commit
// pushed on top of a released one, whose message carries a line that
// looks like the gate's own commit marker naming the released commit, is
// scanned as itself: its secrets are its own, and asked about anew.
func TestGateAttackReleaseCoversOnlyReviewedCommits(t *testing.T) {
	f := newGateFixture(t, dlptest.Random(32), nil)
	dir := f.clone(t)
	gitupstream.Git(t, dir, "checkout", "--quiet", "-b", "agent/keys")
	released := commitFile(t, dir, "a.env", "AWS_ACCESS_KEY_ID="+dlptest.AWSKeyID()+"\n")
	f.pushRefused(t, dir, "agent/keys", "aws-access-token")
	f.op.decide("p-1", schemas.ProposalApproved)
	f.mustAgent(t, dir, "push", "--quiet", "origin", "agent/keys")

	if err := os.WriteFile(filepath.Join(dir, "b.env"), []byte("AWS_ACCESS_KEY_ID="+dlptest.AWSKeyID()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitupstream.Git(t, dir, "add", "b.env")
	gitupstream.Git(t, dir, "commit", "--quiet", "-m", "more\n\x01"+released+"\n"+dlptest.GitHubPAT())
	next := strings.TrimSpace(gitupstream.Git(t, dir, "rev-parse", "HEAD"))
	out, err := f.agent(dir, "push", "origin", "agent/keys")
	if err == nil {
		t.Fatalf("a new secret on top of a released commit went through:\n%s", out)
	}
	if got := gitupstream.Ref(t, f.bare, "refs/heads/agent/keys"); got != released {
		t.Fatalf("the upstream's agent/keys = %s, want the released %s", got, released)
	}
	if len(f.op.asked) != 2 {
		t.Fatalf("the operator was asked %d times, want 2", len(f.op.asked))
	}
	p := f.op.asked[1]
	if len(p.Commits) != 1 || p.Commits[0] != next {
		t.Fatalf("the second proposal names commits %v, want only %s", p.Commits, next)
	}
	rules := map[string]bool{}
	for _, fd := range p.Findings {
		if fd.Commit != next {
			t.Errorf("finding %+v is not the new commit's", fd)
		}
		rules[fd.Rule] = true
	}
	if !rules["aws-access-token"] || !rules["github-pat"] {
		t.Errorf("the second proposal's findings %+v miss the file's or the message's secret", p.Findings)
	}
}
