package review

import (
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
)

func TestParseForNamesTheFieldAndTheProblem(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"", 0, ""},
		{"  ", 0, ""},
		{"30m", 30 * time.Minute, ""},
		{" 1h30m ", 90 * time.Minute, ""},
		{"90s", 90 * time.Second, ""},
		{"24h", 24 * time.Hour, ""},
		{"-5m", 0, `--for "-5m" must be positive`},
		{"0", 0, `--for "0" must be positive`},
		{"0s", 0, `--for "0s" must be positive`},
		{"soon", 0, `--for "soon" is not a duration`},
		{"30", 0, `--for "30" is not a duration`},
		{"500ms", 0, `--for "500ms" is shorter than 1s`},
		{"25h", 0, `--for "25h" is longer than 24h`},
		{"1\x1b[2Jm", 0, `is not a duration`},
	} {
		got, err := ParseFor("--for", c.in)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("ParseFor(%q) = %v, %v; want %v", c.in, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("ParseFor(%q) error %v; want it to say %q", c.in, err, c.err)
		case err != nil && strings.ContainsRune(err.Error(), 0x1b):
			t.Errorf("ParseFor(%q) error carries a control character: %q", c.in, err)
		}
	}
}

func TestFormatForIsShort(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "", 30 * time.Minute: "30m", 2 * time.Hour: "2h", 90 * time.Minute: "1h30m", 90 * time.Second: "1m30s", 5 * time.Second: "5s"} {
		if got := FormatFor(d); got != want {
			t.Errorf("FormatFor(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestCheckDecisionRefusesALimitWithoutALifetime(t *testing.T) {
	base := schemas.Decision{ProposalID: "p-1", Bottle: "b", DecidedBy: schemas.DecidedByCLI, For: "30m"}
	for _, c := range []struct {
		action, scope, err string
	}{
		{schemas.ActionApprove, schemas.ScopeOnce, ""},
		{schemas.ActionModify, schemas.ScopeOnce, ""},
		{schemas.ActionApprove, schemas.ScopePersist, "a route written into the manifest has no lifetime"},
		{schemas.ActionModify, schemas.ScopePersist, "a route written into the manifest has no lifetime"},
		{schemas.ActionDeny, "", "a deny takes no time limit"},
	} {
		d := base
		d.Action, d.Scope = c.action, c.scope
		if d.Action == schemas.ActionModify {
			d.Route = &schemas.Route{Host: "pypi.org"}
		}
		err := CheckDecision(d)
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s %s for 30m: %v, want %q", c.action, c.scope, err, c.err)
		}
	}
	d := base
	d.Action, d.Scope, d.For = schemas.ActionApprove, schemas.ScopeOnce, "48h"
	if err := CheckDecision(d); err == nil || !strings.Contains(err.Error(), `for "48h" is longer than 24h`) {
		t.Errorf("approve for 48h: %v", err)
	}
}
