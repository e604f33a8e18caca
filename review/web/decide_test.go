package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/testreq"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/chromedp/chromedp"
)

// post sends one decision to the page's decide endpoint as a program.
func (s *site) post(t *testing.T, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.srv.URL+"/review/decide", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// waitShown waits until the page lists proposal id: the desk reads the
// channel's store, which the owner's event reaches a moment later.
func (s *site) waitShown(t *testing.T, id string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		req, _ := http.NewRequest("GET", s.srv.URL+"/review/partial", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), id) {
			return
		}
	}
	t.Fatalf("the page never listed %s", id)
}

// TestDenyNeedsAReason: the agent reads a deny's reason to decide what to
// do next, so the page refuses a deny without one and the proposal stays
// pending.
func TestDenyNeedsAReason(t *testing.T) {
	s := newSite(t)
	id, result := s.ask(t, "pypi.org", "need the index")
	s.waitShown(t, id)
	code, out := s.post(t, url.Values{"proposal_id": {id}, "action": {"deny"}, "reason": {"  "}})
	if code != http.StatusBadRequest || !strings.Contains(out["error"].(string), "deny needs a reason") {
		t.Fatalf("a deny without a reason: %d %v", code, out)
	}
	code, out = s.post(t, url.Values{"proposal_id": {id}, "action": {"deny"}, "reason": {"use the mirror"}})
	if code != http.StatusOK || out["status"] != schemas.ProposalDenied {
		t.Fatalf("a deny with a reason: %d %v", code, out)
	}
	if r := <-result; r.Status != schemas.ProposalDenied || !strings.Contains(r.Notes, "use the mirror") {
		t.Fatalf("the agent got %+v", r)
	}
}

// TestModifyNarrowsTheRoute: modify from the page allows the route the
// person edited (fewer paths and methods), not the agent's.
func TestModifyNarrowsTheRoute(t *testing.T) {
	s := newSite(t)
	id, result := s.askRoute(t, planner.RouteRequest{Host: "pypi.org", PathPrefixes: []string{"/simple/", "/packages/"}, Methods: []string{"GET", "POST"}})
	s.waitShown(t, id)
	code, out := s.post(t, url.Values{"proposal_id": {id}, "action": {"modify"}, "scope": {"once"}, "paths": {"/simple/"}, "methods": {"get"}})
	if code != http.StatusOK || out["status"] != schemas.ProposalApproved {
		t.Fatalf("modify: %d %v", code, out)
	}
	r := <-result
	if r.Status != schemas.ProposalApproved || r.Route == nil || !slices.Equal(r.Route.PathAllowlist, []string{"/simple/"}) || !slices.Equal(r.Route.Methods, []string{"GET"}) {
		t.Fatalf("the agent got %+v (route %+v)", r, r.Route)
	}
}

// askRoute makes an agent request for req and returns where its result
// arrives.
func (s *site) askRoute(t *testing.T, req planner.RouteRequest) (string, chan review.Result) {
	t.Helper()
	return s.request(t, req, "need it")
}

// TestKeyboardInChromium decides three proposals from the keyboard, as a
// person at a desktop would: j selects, m opens modify and Enter in its
// fields modifies, d goes to the reason and Enter denies (not before a
// reason is typed), a approves. Enter in a field never approves.
func TestKeyboardInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		testreq.Missing(t, "chromium", err)
	}
	s := newSite(t)
	id1, first := s.askRoute(t, planner.RouteRequest{Host: "pypi.org", PathPrefixes: []string{"/simple/", "/packages/"}, Methods: []string{"GET", "POST"}})
	id2, second := s.ask(t, "files.example.com", "need files")
	id3, third := "", make(chan review.Result, 1) // asked once id1 is approved (it would be stale before)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	defer cancelT()
	row := func(id string) string { return `#pending [data-proposal="` + id + `"]` }
	active := func() string {
		n, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement ? (document.activeElement.name || "") : ""`))
		return n
	}
	// keys selects the first proposal whose card is id with j.
	selectCard := func(id string) {
		t.Helper()
		for range 5 {
			if err := chromedp.Do(ctx, chromedp.KeyEvent("j")); err != nil {
				t.Fatal(err)
			}
			if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('`+row(id)+`.current')`)); ok {
				return
			}
		}
		t.Fatalf("j never selected %s", id)
	}
	err = chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(s.srv.URL+"/review/login?token="+token),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx, chromedp.WaitVisible(row(id2)+` button[value="deny"]`))
	keys, err2 := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.getElementById("keys").getBoundingClientRect().height`))
	if err = errors.Join(err, err2); err != nil || keys == 0 {
		t.Fatalf("the page or its keys help (height %v) is not shown: %v", keys, err)
	}
	for _, c := range []struct {
		id, want string
		ch       chan review.Result
	}{{id1, schemas.ProposalApproved, first}, {id2, schemas.ProposalDenied, second}, {"", schemas.ProposalApproved, third}} {
		if c.id == "" { // arrives while the page is open
			var ch chan review.Result
			id3, ch = s.ask(t, "other.example.com", "need other")
			c.id, c.ch = id3, ch
			if err := chromedp.Do(ctx, chromedp.WaitVisible(row(id3)+` button[value="deny"]`)); err != nil {
				t.Fatal(err)
			}
		}
		selectCard(c.id)
		switch c.id {
		case id1: // m, narrow both fields, Enter
			err = chromedp.Do(ctx, chromedp.KeyEvent("m"))
			if got := active(); err != nil || got != "paths" {
				t.Fatalf("m: the focus is on %q (%v)", got, err)
			}
			_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`(function () { var f = document.activeElement.form;
				f.querySelector("input[name=paths]").value = "/simple/"; f.querySelector("input[name=methods]").value = "GET"; return true; })()`))
			err = errors.Join(err, chromedp.Do(ctx, chromedp.KeyEvent("\r"), chromedp.WaitVisible(`#status.approved`)))
		case id2: // d, Enter without a reason is refused, then a reason and Enter
			err = chromedp.Do(ctx, chromedp.KeyEvent("d"))
			if got := active(); err != nil || got != "reason" {
				t.Fatalf("d: the focus is on %q (%v)", got, err)
			}
			err = chromedp.Do(ctx, chromedp.KeyEvent("\r"), chromedp.WaitVisible(`#status.refused`))
			if msg, _ := chromedp.Run(ctx, chromedp.Text(`#status`)); err != nil || !strings.Contains(msg, "a deny needs a reason") {
				t.Fatalf("deny without a reason: %q (%v)", msg, err)
			}
			err = chromedp.Do(ctx, chromedp.KeyEvent("use the mirror\r"), chromedp.WaitVisible(`#status.denied`))
		case id3:
			err = chromedp.Do(ctx, chromedp.KeyEvent("a"), chromedp.WaitVisible(`#status.approved`))
		}
		if err != nil {
			t.Fatalf("%s: %v", c.id, err)
		}
		r := <-c.ch
		if r.Status != c.want {
			t.Fatalf("%s: the agent got %+v", c.id, r)
		}
		switch c.id {
		case id1:
			if r.Route == nil || !slices.Equal(r.Route.PathAllowlist, []string{"/simple/"}) || !slices.Equal(r.Route.Methods, []string{"GET"}) {
				t.Fatalf("modify from the keyboard allowed %+v", r.Route)
			}
		case id2:
			if !strings.Contains(r.Notes, "use the mirror") {
				t.Fatalf("the agent was told %q", r.Notes)
			}
		}
		// Each decision clears the status before the next one.
		_, _ = chromedp.Run(ctx, chromedp.Evaluate[bool](`(function () { var s = document.getElementById("status"); s.className = ""; s.textContent = ""; document.activeElement.blur(); return true; })()`))
	}
}

// TestModifyWithATimeLimit: the page's "for" field limits a once-approval;
// bad values and persist are refused naming the field, and the outcome
// shows the limit and its absolute end.
func TestModifyWithATimeLimit(t *testing.T) {
	s := newSite(t)
	id, result := s.askRoute(t, planner.RouteRequest{Host: "pypi.org", PathPrefixes: []string{"/simple/"}, Methods: []string{"GET"}})
	s.waitShown(t, id)
	if page := s.partial(t); !strings.Contains(page, `name="for"`) {
		t.Fatalf("the pending card has no for field:\n%s", page)
	}
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"action": {"approve"}, "scope": {"once"}, "for": {"-1m"}}, `the "for" field "-1m" must be positive`},
		{url.Values{"action": {"approve"}, "scope": {"once"}, "for": {"later"}}, `the "for" field "later" is not a duration`},
		{url.Values{"action": {"approve"}, "scope": {"once"}, "for": {"30d"}}, `the "for" field "30d" is not a duration`},
		{url.Values{"action": {"approve"}, "scope": {"once"}, "for": {"100h"}}, `is longer than 24h`},
		{url.Values{"action": {"approve"}, "scope": {"persist"}, "for": {"30m"}}, `a route written into the manifest has no lifetime`},
		{url.Values{"action": {"deny"}, "reason": {"no"}, "for": {"30m"}}, `a deny takes no time limit`},
	} {
		c.form.Set("proposal_id", id)
		code, out := s.post(t, c.form)
		if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["error"]), c.want) {
			t.Errorf("%v: %d %v, want %q", c.form, code, out, c.want)
		}
	}
	code, out := s.post(t, url.Values{"proposal_id": {id}, "action": {"modify"}, "scope": {"once"}, "paths": {""}, "methods": {"GET"}, "for": {"45m"}})
	if code != http.StatusOK || out["status"] != schemas.ProposalApproved || out["for"] != "45m" || out["expires_at"] == nil {
		t.Fatalf("modify for 45m: %d %v", code, out)
	}
	if r := <-result; r.Status != schemas.ProposalApproved || !strings.Contains(r.Notes, "approved for 45m, until") {
		t.Fatalf("the agent got %+v", r)
	}
	until, err := time.Parse(time.RFC3339Nano, fmt.Sprint(out["expires_at"]))
	if err != nil {
		t.Fatal(err)
	}
	if page := s.partial(t); !strings.Contains(page, "time limit: 45m, until <time datetime=\""+until.UTC().Format(time.RFC3339)+"\"") {
		t.Fatalf("the outcome does not show the limit:\n%s", page)
	}
}

// partial returns the page's live part.
func (s *site) partial(t *testing.T) string {
	t.Helper()
	req, _ := http.NewRequest("GET", s.srv.URL+"/review/partial", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
