package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// A time-limited approval through a real bottle: the agent asks on its
// agent surface, the operator approves over MCP with for, a request from
// inside the bottle is admitted, and once the owner publishes the route's
// expiry (followed with `bot-bottle events --follow`, never slept for) the
// same request is denied again with the usual structured denial.
//
// The test waits on events, not on time. The one thing time decides is
// whether the admitted request runs before the limit ends; on a machine so
// slow that it does not, the test says so and tries again with a longer
// limit, so its verdict never depends on the machine's speed.
func TestTimeLimitedApprovalExpiresEndToEnd(t *testing.T) {
	script := `echo ready
n=0
while :; do
  n=$((n+1))
  while [ ! -f get-$n ]; do sleep 0.02; done
  ./bottleclient get https://pkg-mcp.test/simple/x
  echo "end-$n"
done`
	r := newRemediationRunning(t, []string{"sh", "-c", script})
	expired := r.followRouteExpired(t)
	n := 0
	get := func() string { // one request from inside the bottle
		n++
		must(t, os.WriteFile(filepath.Join(r.e.workdir, "get.tmp"), nil, 0o644))
		must(t, os.Rename(filepath.Join(r.e.workdir, "get.tmp"), filepath.Join(r.e.workdir, fmt.Sprintf("get-%d", n))))
		var said []string
		for {
			select {
			case l, ok := <-r.lines:
				if !ok {
					t.Fatalf("the bottle ended: %q", said)
				}
				if l == fmt.Sprintf("end-%d", n) {
					return strings.Join(said, "\n")
				}
				said = append(said, l)
			case <-time.After(2 * time.Minute):
				t.Fatalf("request %d from inside the bottle did not finish: %q", n, said)
			}
		}
	}
	if out := get(); !strings.HasPrefix(out, "status=403") || !strings.Contains(out, `"reason":"host_not_allowed"`) {
		t.Fatalf("before any approval: %s", out)
	}
	for _, limit := range []string{"2s", "10s", "1m"} {
		result := r.ask(t, "pkg-mcp.test", "")
		id := r.pending(t, "pkg-mcp.test")
		res, err := r.operator.CallTool(context.Background(), &sdk.CallToolParams{Name: "egress_decide",
			Arguments: map[string]any{"proposal_id": id, "action": "approve", "scope": "once", "for": limit}})
		if err != nil || res.IsError {
			t.Fatalf("egress_decide for %s: %v %+v", limit, err, res)
		}
		var applied schemas.Applied
		data, _ := json.Marshal(res.StructuredContent)
		must(t, json.Unmarshal(data, &applied))
		text := res.Content[0].(*sdk.TextContent).Text
		if applied.For != limit || applied.ExpiresAt.IsZero() ||
			!strings.Contains(text, "time limit: for "+limit+", until "+applied.ExpiresAt.UTC().Format(time.RFC3339)) {
			t.Fatalf("the outcome does not carry the limit: %+v\n%s", applied, text)
		}
		if got := <-result; got.Status != "approved" || !strings.Contains(got.Notes, "approved for "+limit+", until") {
			t.Fatalf("the agent's call returned %+v", got)
		}
		admitted := get()
		x := r.waitRouteExpired(t, expired, id)
		if x.Superseded || x.For != limit || !x.ExpiresAt.Equal(applied.ExpiresAt) || !strings.Contains(x.Notes, "the route for pkg-mcp.test is removed") {
			t.Fatalf("route expired: %+v", x)
		}
		after := get()
		if !strings.HasPrefix(after, "status=403") || !strings.Contains(after, `"reason":"host_not_allowed"`) || !strings.Contains(after, `"denial_id"`) {
			t.Fatalf("after the limit (%s) ended: %s", limit, after)
		}
		if strings.HasPrefix(admitted, "status=200") {
			// The operator's surfaces show the limit and the expiry.
			out, err := r.e.cli("review", "--all", "--bottle", r.id)
			if err != nil || !strings.Contains(out, "time limit: for "+limit+", until ") || !strings.Contains(out, "route expired at ") {
				t.Fatalf("review --all: %v\n%s", err, out)
			}
			return
		}
		t.Logf("the limit of %s ended before the request from inside the bottle ran (a slow machine): %s; again with a longer one", limit, admitted)
	}
	t.Fatal("no time-limited approval admitted the request before it ended")
}

// followRouteExpired follows the route expiries of r's bottle with
// `bot-bottle events --follow --json` in another process.
func (r *remediation) followRouteExpired(t *testing.T) chan schemas.RouteExpired {
	t.Helper()
	cmd := r.e.command("events", "--bottle", r.id, "--kind", "route_expired", "--follow", "--json")
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	out := make(chan schemas.RouteExpired, 8)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev schemas.Event
			var x schemas.RouteExpired
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Kind == schemas.KindRouteExpired && ev.Decode(&x) == nil {
				out <- x
			}
		}
	}()
	return out
}

// waitRouteExpired returns the expiry of proposal id's route.
func (r *remediation) waitRouteExpired(t *testing.T, ch chan schemas.RouteExpired, id string) schemas.RouteExpired {
	t.Helper()
	for {
		select {
		case x := <-ch:
			if x.ProposalID == id {
				return x
			}
		case <-time.After(3 * time.Minute):
			t.Fatalf("no route_expired event for %s", id)
		}
	}
}
