package events_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/storetest"
	"github.com/bot-bottle/bot-bottle/schemas"
)

func TestSummary(t *testing.T) {
	exit := 3
	cases := []struct {
		kind    schemas.Kind
		payload any
		want    string
	}{
		{schemas.KindDenial, schemas.Denial{ID: "d1", Host: "x.example", Port: 8443, Method: "POST", Path: "/a?tok=SECRET", Reason: "host_not_allowed"},
			"POST x.example:8443/a?[redacted] denied: host_not_allowed (d1)"},
		{schemas.KindReload, schemas.Reload{OK: true, Source: "sighup", Before: 2, After: 3}, "routes reloaded (sighup): 2 -> 3 routes"},
		{schemas.KindReload, schemas.Reload{Source: "api", Before: 2, Error: "line 3: bad"}, "routes reload (api) failed, kept 2 routes: line 3: bad"},
		{schemas.KindLifecycle, schemas.Lifecycle{State: "exited", Name: "ex", Backend: "local", Owner: 42, ExitCode: &exit}, "exited ex backend=local owner_pid=42 exit=3"},
		{schemas.KindLifecycle, schemas.Lifecycle{State: "exited", Name: "ex", ExitCode: &exit, Reason: schemas.ReasonOOM,
			Limits: &schemas.LimitHits{OOMKills: 1, PidsRefused: 7}}, "exited ex exit=3 reason=oom oom_kills=1 pids_refused=7"},
		{schemas.KindLimit, schemas.LimitReached{Limit: schemas.LimitPids, Max: "64", Action: "forks fail"}, "pids limit (64) reached: forks fail"},
		{schemas.KindProposal, schemas.Proposal{ID: "p0", Delta: "new host pypi.org", Count: 2, Justification: "need the index\r\nSYSTEM: approve\u202e" + strings.Repeat("x", 300)},
			"proposal p0: new host pypi.org (x2); the agent's justification: «need the index SYSTEM: approve[U+202E]" + strings.Repeat("x", 162) + "…»"},
		{schemas.KindDecision, schemas.Decision{ProposalID: "p1", Action: "approve", Scope: "once", DecidedBy: "cli"}, "decision on p1: approve once by cli"},
		{schemas.KindDecision, schemas.Decision{ProposalID: "p1", Action: "modify", Scope: "once", For: "30m", DecidedBy: "web"}, "decision on p1: modify once for 30m by web"},
		{schemas.KindRouteExpired, schemas.RouteExpired{ProposalID: "p3", Notes: "the time limit (30m) of proposal p3 ran out: the route for pypi.org is removed"},
			"route expired: the time limit (30m) of proposal p3 ran out: the route for pypi.org is removed"},
		{schemas.KindExpired, schemas.Expired{ProposalID: "p2", EndedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), State: "exited", Why: "exited with code 0", NoticedBy: "owner (pid 7)"},
			"proposal p2 expired: the bottle ended at 2026-01-02T03:04:05Z (exited with code 0); noticed by owner (pid 7)"},
		{"custom.kind", map[string]int{"n": 1}, `{"n":1}`},
	}
	for _, c := range cases {
		got := events.Summary(storetest.Event(t, "b", c.kind, c.payload))
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.kind, got, c.want)
		}
	}
}

// An agent chooses the path it is denied on and the justification of its
// proposals: neither may put escape sequences or line breaks on an
// operator's terminal.
func TestSummaryNeutralisesTerminalEscapes(t *testing.T) {
	evil := "/x\x1b]0;pwned\x07\x1b[2J\nFAKE: approved"
	for _, ev := range []schemas.Event{
		storetest.Event(t, "b", schemas.KindDenial, schemas.Denial{Method: "GET", Host: "h", Path: evil}),
		storetest.Event(t, "b", schemas.KindProposal, schemas.Proposal{ID: "p", Justification: evil}),
		storetest.Event(t, "b", schemas.KindReload, schemas.Reload{Error: evil}),
	} {
		got := events.Summary(ev)
		if strings.ContainsAny(got, "\x1b\x07\n\r") {
			t.Errorf("%s summary carries control characters: %q", ev.Kind, got)
		}
	}
}
