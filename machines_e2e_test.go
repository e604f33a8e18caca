package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/natstest"
	"github.com/bot-bottle/bot-bottle/launcher"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestTwoMachinesOneDesk runs the remediation loop across two
// "machines" on one NATS server with JetStream (started by the test, on
// loopback): machine A (its own home) launches a bottle whose client is
// denied; machine B (another home, another machine name) sees the bottle
// and the denial with ps and events, runs serve, and approves from its
// MCP surface and with review approve; A's owner applies each decision to
// the live proxy and the agent's retried request succeeds.
func TestTwoMachinesOneDesk(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	homeB, err := os.MkdirTemp("", "bbB-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(homeB) })
	must(t, os.MkdirAll(filepath.Join(homeB, "bb", "bottles"), 0o755))
	shared := []string{"BOT_BOTTLE_EVENTS=" + srv.URL()}
	envB := []string{"BOT_BOTTLE_HOME=" + filepath.Join(homeB, "bb"), "HOME=" + homeB, "BOT_BOTTLE_MACHINE=machine-b"}
	r := newRemediationWith(t, remediationOptions{env: append(shared, "BOT_BOTTLE_MACHINE=machine-a"), serveEnv: envB})
	onB := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(r.e.bin, args...)
		cmd.Env = append(append([]string{"PATH=" + os.Getenv("PATH")}, shared...), envB...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("machine B: bot-bottle %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	var list []launcher.Info
	must(t, json.Unmarshal([]byte(onB("ps", "--json")), &list))
	if len(list) != 1 || list[0].ID != r.id || list[0].Owner.Machine != "machine-a" || list[0].Lost || list[0].Orphaned {
		t.Fatalf("machine B's ps: %+v, want %s running on machine-a", list, r.id)
	}
	denied := regexp.MustCompile(`^denied (\S+) (\d+) (\S+)$`)
	for i, host := range hostsForRemediation {
		m := r.expect(t, denied)
		if m[1] != host || m[2] != "403" {
			t.Fatalf("before approval: %v", m)
		}
		if out := onB("events", "--kind", "denial", "--host", host); !strings.Contains(out, r.id) {
			t.Fatalf("machine B's events does not show the denial of %s:\n%s", host, out)
		}
		result := r.ask(t, host, m[3])
		select {
		case <-r.notes: // serve on machine B notified its operator
		case <-time.After(time.Minute):
			t.Fatal("serve on machine B was not notified of the proposal")
		}
		id := r.pending(t, host)
		if i == 1 {
			if out := onB("review", "approve", id); !strings.Contains(out, "approved "+id) {
				t.Fatalf("review approve on machine B:\n%s", out)
			}
		} else {
			res, err := r.operator.CallTool(context.Background(), &sdk.CallToolParams{Name: "egress_decide",
				Arguments: map[string]any{"proposal_id": id, "action": "approve", "scope": "once"}})
			if err != nil || res.IsError {
				t.Fatalf("egress_decide on machine B: %v %+v", err, res)
			}
		}
		select {
		case got := <-result:
			if got.Status != "approved" || got.ProposalID != id {
				t.Fatalf("%s: the agent on machine A was told %+v", host, got)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s: the agent's call did not return", host)
		}
		must(t, os.WriteFile(filepath.Join(r.e.workdir, "approved-"+host), nil, 0o644))
		if m := r.expect(t, regexp.MustCompile(`^retry (\S+) (\d+)$`)); m[2] != "200" {
			t.Fatalf("%s after approval from machine B: %v", host, m)
		}
		r.expect(t, regexp.MustCompile(`^keepalive `))
	}
	r.expect(t, regexp.MustCompile(`^done$`))
	// Machine A's home holds no state.db: everything went through NATS.
	if _, err := os.Stat(filepath.Join(r.e.home, "state.db")); err == nil {
		t.Error("machine A wrote a SQLite store beside the shared channel")
	}
}
