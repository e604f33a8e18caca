package mcp

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/reviewtest"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// TestPushForAHostModel: a refused push, as egress_proposals writes it and
// as its notification says it, keeps the refs and file names the agent
// chose quoted on lines that say they are the agent's (the listing) or in
// agent_text (the notification), never in our sentence, tricks escaped.
func TestPushForAHostModel(t *testing.T) {
	commit := strings.Repeat("c", 40)
	p := schemas.Proposal{ID: "p-2", Kind: schemas.ProposalPush, Bottle: "b-2", Host: "git.example.test", Delta: "release a push to app",
		Time: time.Now(), Count: 1, Push: &schemas.PushReview{Repo: "app", URL: "https://git.example.test/org/app.git",
			Refs: []string{"refs/heads/" + reviewtest.Hostile}, Commits: []string{commit},
			Findings: []schemas.GitFinding{{Rule: "aws-access-token", Commit: commit, File: reviewtest.Hostile, Line: 3}}}}
	var b strings.Builder
	writeProposal(&b, Proposal{View: review.View{Proposal: p, Status: schemas.ProposalPending},
		Evidence: &review.Evidence{Persist: review.Effect{Unavailable: "a refused push is released once"}}})
	out := b.String()
	reviewtest.CheckShown(t, "egress_proposals", out)
	for _, want := range []string{"(pending, push)", "  refused push (refs and file names as the agent sent them): «release a push to app»\n", "refs the agent pushed: «refs/heads/need the index",
		"found: aws-access-token in the agent's file «need the index", "commit cccccccccccc\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("egress_proposals lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, reviewtest.HostileMarker) && !strings.Contains(l, "the agent") {
			t.Errorf("the agent's words on a line not labelled as its: %q", l)
		}
	}
	if strings.Contains(out, "live route") || strings.Contains(out, "denials it answers") {
		t.Errorf("a push shows routes or denials:\n%s", out)
	}

	note := proposalNote(p)
	msg, _ := note["message"].(string)
	if strings.Contains(msg, "need the index") || !strings.Contains(msg, "git gate refused a push") || !strings.Contains(msg, "agent_text") {
		t.Errorf("the notification's sentence: %q", msg)
	}
	raw, err := json.Marshal(note["agent_text"])
	if err != nil {
		t.Fatal(err)
	}
	var at map[string]string
	if err := json.Unmarshal(raw, &at); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(at["refs"], reviewtest.HostileMarker) || !strings.Contains(at["files"], reviewtest.HostileMarker) {
		t.Errorf("agent_text lacks the agent's refs or files: %v", at)
	}
	reviewtest.CheckShown(t, "the notification's agent_text", at["refs"]+"\n"+at["files"])
}
