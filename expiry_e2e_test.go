package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// A real bottle's agent asks for egress (request_egress on its agent
// surface, official Go SDK) and its bottle exits before anyone decides: the
// owner expires the proposal as the bottle ends, and every operator surface
// of other processes says so.
func TestPendingProposalExpiresWhenItsBottleEnds(t *testing.T) {
	script := `echo ready
while [ ! -f end ]; do sleep 0.05; done
echo done`
	r := newRemediationRunning(t, []string{"sh", "-c", script})
	r.ask(t, "pkg-mcp.test", "")
	id := r.pending(t, "pkg-mcp.test")
	must(t, os.WriteFile(filepath.Join(r.e.workdir, "end"), nil, 0o644))
	r.expect(t, regexp.MustCompile(`^done$`))
	r.waitLaunchExit(t)
	r.checkExpired(t, id, regexp.MustCompile(`^expired: the bottle ended at \S+ \(exited with code 0\)$`), "owner (pid ")
}

// The owner is SIGKILLed with the proposal pending: it never says its
// bottle ended, so the first process that finds it dead expires the
// proposal, once, and every surface says so.
func TestPendingProposalExpiresWhenItsOwnerIsKilled(t *testing.T) {
	r := newRemediationRunning(t, []string{"sh", "-c", "echo ready; exec sleep 300"})
	r.ask(t, "pkg-cli.test", "")
	id := r.pending(t, "pkg-cli.test")
	pid := r.launch.Process.Pid
	must(t, r.launch.Process.Kill())
	r.waitLaunchExit(t)
	t.Cleanup(func() { _, _ = r.e.cli("cleanup") })
	r.checkExpired(t, id, regexp.MustCompile(`^expired: the bottle ended at \S+ \(its owner \(pid `+strconv.Itoa(pid)+`\) died without recording the end; the time is when that was noticed\)$`), "pid ")
}

// waitLaunchExit waits until the launch process has ended.
func (r *remediation) waitLaunchExit(t *testing.T) {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case _, ok := <-r.lines:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the launch process did not end")
		}
	}
}

// checkExpired asserts, from every operator surface of other processes,
// that proposal id expired with notes matching want, and that one expiry
// event, published by a noticer whose name starts with by, is stored.
func (r *remediation) checkExpired(t *testing.T, id string, want *regexp.Regexp, by string) {
	t.Helper()
	// The CLI: no longer pending; listed as expired with --all; deciding
	// it says it expired and when.
	if out, err := r.e.cli("review"); err != nil || strings.Contains(out, id) {
		t.Errorf("review (pending) still lists %s: %v\n%s", id, err, out)
	}
	out, err := r.e.cli("review", "--all", "--json")
	must(t, err)
	var views []review.View
	must(t, json.Unmarshal([]byte(out), &views))
	var v *review.View
	for i := range views {
		if views[i].ID == id {
			v = &views[i]
		}
	}
	if v == nil || v.Status != schemas.ProposalExpired || v.Expired == nil || !want.MatchString(v.Expired.Notes()) {
		t.Fatalf("review --all: %+v\n%s", v, out)
	}
	out, err = r.e.cli("review", "approve", id)
	if err == nil || !strings.Contains(out, "expired: the bottle ended at") || !strings.Contains(out, "Try: ") {
		t.Errorf("review approve of an expired proposal: %v\n%s", err, out)
	}

	// MCP, on serve: listed as expired; deciding it is a tool error that
	// says it expired.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := r.operator.CallTool(ctx, &sdk.CallToolParams{Name: "egress_proposals",
		Arguments: map[string]any{"bottle": r.id, "status": schemas.ProposalExpired}})
	must(t, err)
	data, _ := json.Marshal(res.StructuredContent)
	if !strings.Contains(string(data), id) || !strings.Contains(string(data), `"status":"expired"`) {
		t.Errorf("egress_proposals status expired: %s", data)
	}
	res, err = r.operator.CallTool(ctx, &sdk.CallToolParams{Name: "egress_decide",
		Arguments: map[string]any{"proposal_id": id, "action": "approve"}})
	must(t, err)
	if !res.IsError || !strings.Contains(toolText(res), "expired: the bottle ended at") {
		t.Errorf("egress_decide of an expired proposal: %+v %s", res, toolText(res))
	}

	// The review page: nothing pending, the proposal among the outcomes.
	req, _ := http.NewRequest(http.MethodGet, r.serve+"/review/partial", nil)
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Pending proposals (0)") || !strings.Contains(string(page), `data-proposal="`+id+`"`) ||
		!strings.Contains(string(page), "expired: the bottle ended at") {
		t.Errorf("review page:\n%s", page)
	}

	// One expiry event, however many processes noticed.
	out, err = r.e.cli("events", "--bottle", r.id, "--json")
	must(t, err)
	n := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var ev schemas.Event
		var x schemas.Expired
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Kind == schemas.KindExpired && ev.Decode(&x) == nil && x.ProposalID == id {
			n++
			if !strings.HasPrefix(x.NoticedBy, by) {
				t.Errorf("expired by %q, want %q...", x.NoticedBy, by)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d expiry events for %s, want 1:\n%s", n, id, out)
	}
}

// toolText is a tool result's text content.
func toolText(res *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}
