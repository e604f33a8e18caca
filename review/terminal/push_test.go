package terminal

import (
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/reviewtest"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// TestPrintPush: a refused push prints its summary, repo and findings;
// the refs and file names the agent chose are quoted on lines that say
// they are the agent's, with their tricks escaped; a push offers neither
// persist nor routes.
func TestPrintPush(t *testing.T) {
	commit := strings.Repeat("b", 40)
	v := review.View{Proposal: schemas.Proposal{ID: "p-1", Kind: schemas.ProposalPush, Bottle: "b-1", Host: "git.example.test",
		Delta: "release a push to app", Time: time.Now(), Count: 1, Push: &schemas.PushReview{
			Repo: "app", URL: "https://git.example.test/org/app.git", Refs: []string{"refs/heads/" + reviewtest.Hostile},
			Commits:  []string{commit},
			Findings: []schemas.GitFinding{{Rule: "aws-access-token", Commit: commit, File: reviewtest.Hostile, Line: 2}, {Rule: "github-pat", Commit: commit}}}},
		Status: schemas.ProposalPending}
	ev := review.Evidence{Once: review.Effect{Summary: "released once"}, Persist: review.Effect{Unavailable: "a refused push is released once"}}
	var b strings.Builder
	PrintProposal(&b, v, &ev)
	out := b.String()
	reviewtest.CheckShown(t, "the terminal desk", out)
	for _, want := range []string{"  push, refs and file names the agent's: «release a push to app»\n", "  repo:   app (https://git.example.test/org/app.git), 1 commit(s) carry secrets\n",
		"  the agent's refs: «refs/heads/need the index", "  found:  aws-access-token in the agent's file «need the index",
		"  found:  github-pat in the commit (its message, author or headers) or a file name, commit bbbbbbbbbbbb\n", "approve + persist: unavailable"} {
		if !strings.Contains(out, want) {
			t.Errorf("the desk lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, reviewtest.HostileMarker) && !strings.Contains(l, "the agent's") {
			t.Errorf("the agent's words on a line not labelled as its: %q", l)
		}
	}
	if strings.Contains(out, "live route") || strings.Contains(out, "denials it answers") {
		t.Errorf("a push shows routes or denials:\n%s", out)
	}
}
