package review

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// TestEvidenceShowsTheDeniedRequests: the denials a proposal answers are
// the requests the agent really sent (read from its bottle's events, the
// same request merged with a count), an id it cites that its bottle never
// got is reported, and the persist preview is exactly the edit an
// approval with persist makes.
func TestEvidenceShowsTheDeniedRequests(t *testing.T) {
	w := newWorld(t, baseManifest, Limits{})
	c := w.client()
	var ids []string
	for i := 0; i < 2; i++ {
		resp, err := c.Get("https://pypi.org/simple/requests/?token=x")
		if err != nil {
			t.Fatal(err)
		}
		var den schemas.Denial
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err := json.Unmarshal(body, &den); err != nil {
			t.Fatalf("%d %s: %v", resp.StatusCode, body, err)
		}
		ids = append(ids, den.ID)
	}
	ids = append(ids, "0198c0de-0000-7000-8000-000000000000") // another bottle's, or made up
	ctx := context.Background()
	must(t, w.bus.Flush(ctx))
	go w.owner.Request(ctx, planner.RouteRequest{Host: "pypi.org", PathPrefixes: []string{"/simple/"}, Methods: []string{"GET"}},
		"need the index", ids, time.Minute)
	v := w.waitPending()
	ev := w.desk.Evidence(ctx, v)
	if len(ev.Denials) != 1 {
		t.Fatalf("denials %+v, want one request sent twice", ev.Denials)
	}
	d := ev.Denials[0]
	if d.Method != "GET" || d.Host != "pypi.org" || d.Path != "/simple/requests/?[redacted]" || d.Count != 2 {
		t.Fatalf("denied request %+v", d)
	}
	if len(ev.Uncited) != 1 || ev.Uncited[0] != ids[2] {
		t.Fatalf("uncited %v", ev.Uncited)
	}
	if ev.Persist.Unavailable != "" || !strings.Contains(ev.Persist.Diff, "+      path_allowlist: [/simple/]") || !strings.HasSuffix(ev.Persist.Manifest, "main.yaml") {
		t.Fatalf("persist preview %+v", ev.Persist)
	}
	applied, err := decide(w, v.ID, schemas.ActionApprove, schemas.ScopePersist, "")
	if err != nil {
		t.Fatal(err)
	}
	if applied.Diff != ev.Persist.Diff {
		t.Fatalf("the preview differs from the edit:\n--- preview\n%s\n--- applied\n%s", ev.Persist.Diff, applied.Diff)
	}
}
