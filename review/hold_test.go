package review

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/dlp/dlptest"
	"github.com/bot-bottle/bot-bottle/egressproxy"
	"github.com/bot-bottle/bot-bottle/schemas"
)

const holdManifest = `dlp: {on_match: supervise}
egress:
  routes:
    - host: files.example.com
`

// ownerSupervisor is how mcp attaches an owner to its proxy.
type ownerSupervisor struct{ o *Owner }

func (s ownerSupervisor) Hold(ctx context.Context, rel schemas.Release) egressproxy.HoldOutcome {
	out := s.o.Hold(ctx, rel)
	return egressproxy.HoldOutcome{Released: out.Released, TimedOut: out.TimedOut, Notes: out.Notes}
}

// post sends a body with a secret through the proxy in the background.
func (w *world) post(path, body string) chan *http.Response {
	ch := make(chan *http.Response, 1)
	go func() {
		resp, err := w.client().Post("https://files.example.com"+path, "application/json", strings.NewReader(body))
		if err != nil {
			w.t.Error(err)
		}
		ch <- resp
	}()
	return ch
}

func TestHeldRequestIsReleasedOrRefusedFromTheDesk(t *testing.T) {
	w := newWorld(t, holdManifest, Limits{})
	w.proxy.SetSupervisor(ownerSupervisor{w.owner})
	aws := dlptest.AWSKeyID()
	body := `{"note":"ship it","key":"` + aws + `"}`

	waiting := w.post("/upload", body)
	v := w.waitPending()
	if v.Kind != schemas.ProposalRelease || v.Release == nil || v.Release.Rules[0] != "aws-access-token" || v.Release.Host != "files.example.com" {
		t.Fatalf("release proposal: %+v", v)
	}
	raw, _ := json.Marshal(v)
	if strings.Contains(string(raw), aws) {
		t.Fatal("the proposal carries the secret")
	}
	if !strings.Contains(v.Delta, "POST files.example.com/upload") || !strings.Contains(v.Release.Excerpt, "[redacted:aws-access-token]") {
		t.Errorf("delta %q, excerpt %q", v.Delta, v.Release.Excerpt)
	}
	if _, err := w.desk.Decide(context.Background(), schemas.Decision{ProposalID: v.ID, Action: schemas.ActionModify,
		Route: &schemas.Route{Host: "files.example.com"}, Scope: schemas.ScopeOnce, DecidedBy: schemas.DecidedByCLI}, time.Second); err == nil {
		t.Error("a modify of a held request was accepted")
	}
	applied, err := decide(w, v.ID, schemas.ActionApprove, schemas.ScopeOnce, "")
	if err != nil || applied.Status != schemas.ProposalApproved {
		t.Fatalf("release: %v %+v", err, applied)
	}
	resp := <-waiting
	if resp == nil || resp.StatusCode != 200 {
		t.Fatalf("released request: %v", resp)
	}
	resp.Body.Close()

	waiting = w.post("/again", body)
	v = w.waitPending()
	if _, err := decide(w, v.ID, schemas.ActionDeny, "", "never send keys"); err != nil {
		t.Fatal(err)
	}
	resp = <-waiting
	if resp == nil || resp.StatusCode != 403 {
		t.Fatalf("refused request: %v", resp)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var den schemas.Denial
	if json.Unmarshal(b, &den) != nil || den.Reason != "dlp_refused" || den.Rule != "aws-access-token" || strings.Contains(string(b), aws) {
		t.Fatalf("refusal: %s", b)
	}
}

func TestExpiredHoldCannotBeReleasedLater(t *testing.T) {
	w := newWorld(t, holdManifest, Limits{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	out := w.owner.Hold(ctx, schemas.Release{Host: "files.example.com", Rules: []string{"github-pat"}, Where: []string{"body"},
		Method: "POST", Path: "/x", Until: time.Now().Add(200 * time.Millisecond)})
	if out.Released || !out.TimedOut {
		t.Fatalf("outcome %+v, want timed out", out)
	}
	var views []View
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		views, err = w.desk.Proposals(context.Background(), Filter{})
		if err == nil && len(views) == 1 && views[0].Status == schemas.ProposalRefused {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("desk after expiry: %v %+v", err, views)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := decide(w, views[0].ID, schemas.ActionApprove, schemas.ScopeOnce, ""); !errors.Is(err, ErrNotPending) {
		t.Fatalf("late release: %v", err)
	}
}
