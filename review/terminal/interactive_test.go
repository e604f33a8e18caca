package terminal

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/reviewtest"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// TestInteractivePushRefusesPersistAndModify: review -i on a refused push
// asks release or refuse; p and m are answered with why they do not apply,
// and nothing is decided until a real answer comes.
func TestInteractivePushRefusesPersistAndModify(t *testing.T) {
	b := reviewtest.New(t, "b-push01", reviewtest.DefaultManifest)
	desk := review.NewDesk(review.DeskConfig{Channel: b.Bus, Running: func(context.Context, string) (bool, error) { return true, nil }})
	commit := strings.Repeat("e", 40)
	id, err := b.Owner.ProposePush(context.Background(), schemas.PushReview{Repo: "app", URL: "https://git.example.test/org/app.git",
		Refs: []string{"refs/heads/main"}, Commits: []string{commit}, Findings: []schemas.GitFinding{{Rule: "aws-access-token", Commit: commit, File: "a.txt", Line: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Bus.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, decided := runInteractive(t, desk, "p\nm\ny\n")
	for _, want := range []string{releasePrompt, "p: a refused push is released once or refused; it changes no route, so there is nothing to persist or modify\n",
		"m: a refused push is released once or refused"} {
		if !strings.Contains(s, want) {
			t.Errorf("review -i lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, prompt) {
		t.Errorf("review -i offers persist and modify on a push:\n%s", s)
	}
	if len(decided) != 1 || decided[0].ProposalID != id || decided[0].Action != schemas.ActionApprove || decided[0].Scope != schemas.ScopeOnce {
		t.Fatalf("decided %+v, want one approve once of %s", decided, id)
	}
}

// TestInteractiveModifyAsksForATimeLimit: review -i's modify asks how long
// the route lasts; a bad answer is explained and asked again.
func TestInteractiveModifyAsksForATimeLimit(t *testing.T) {
	b := reviewtest.New(t, "b-limit1", reviewtest.DefaultManifest)
	desk := review.NewDesk(review.DeskConfig{Channel: b.Bus, Running: func(context.Context, string) (bool, error) { return true, nil }})
	res, err := b.Owner.Request(context.Background(), planner.RouteRequest{Host: "pypi.org", PathPrefixes: []string{"/simple/"}, Methods: []string{"GET", "HEAD"}},
		"need it", nil, 0)
	if err != nil || res.Status != schemas.ProposalPending {
		t.Fatalf("request: %+v %v", res, err)
	}
	if err := b.Bus.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, decided := runInteractive(t, desk, "m\n\nGET\nsoon\n25h\n 45m \n")
	for _, want := range []string{"remove it again after (e.g. 30m, up to 24h) [the bottle's life]: ",
		`time limit "soon" is not a duration`, `time limit "25h" is longer than 24h`} {
		if !strings.Contains(s, want) {
			t.Errorf("review -i lacks %q:\n%s", want, s)
		}
	}
	if len(decided) != 1 || decided[0].Action != schemas.ActionModify || decided[0].For != "45m" ||
		decided[0].Route == nil || strings.Join(decided[0].Route.Methods, " ") != "GET" {
		t.Fatalf("decided %+v, want one modify for 45m with methods GET", decided)
	}
}

// runInteractive runs review -i on desk with the person's answers in input
// until they run out, and returns what it printed and what it decided.
func runInteractive(t *testing.T, desk *review.Desk, input string) (string, []schemas.Decision) {
	t.Helper()
	var mu sync.Mutex
	var decided []schemas.Decision
	var out strings.Builder
	r := &Interactive{Desk: desk, In: strings.NewReader(input), Out: &out,
		Decide: func(_ context.Context, d schemas.Decision) {
			mu.Lock()
			decided = append(decided, d)
			mu.Unlock()
		}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return out.String(), slices.Clone(decided)
}
