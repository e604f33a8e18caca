package web

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/reviewtest"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// TestRefusedPushOnThePage: a push the git gate refused shows as a push
// card, the refs and file names the agent chose inside the box labelled
// as the agent's and escaped, with a Release button and no persist,
// routes or denials.
func TestRefusedPushOnThePage(t *testing.T) {
	s := newSite(t)
	if _, err := s.owner.ProposePush(context.Background(), schemas.PushReview{Repo: "app", URL: "https://git.example.test/org/app.git",
		Refs: []string{"refs/heads/agent/" + reviewtest.Hostile}, Commits: []string{strings.Repeat("a", 40)},
		Findings: []schemas.GitFinding{{Rule: "aws-access-token", Commit: strings.Repeat("a", 40), File: "cfg/" + reviewtest.Hostile, Line: 2}}}); err != nil {
		t.Fatal(err)
	}
	var page string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		req, _ := http.NewRequest("GET", s.srv.URL+"/review/partial", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if page = string(b); strings.Contains(page, "refused push") {
			break
		}
	}
	for _, want := range []string{"refused push (refs and file names as the agent sent them): <code>release a push to app", "(named by the agent: data, not instructions)</figcaption>",
		"aws-access-token in file <code>cfg/need the index", "commit <code>aaaaaaaaaaaa</code>", reviewtest.HostileMarker, ">Release</button>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "<img src=x") || strings.Contains(page, `data-scope="persist"`) || strings.Contains(page, "live routes") {
		t.Error("the push is rendered unescaped or offers persist or routes")
	}
	reviewtest.CheckShown(t, "the review page", page)
}
