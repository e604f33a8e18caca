package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/egressproxy"
	"github.com/bot-bottle/bot-bottle/internal/reviewtest"
	"github.com/bot-bottle/bot-bottle/internal/testreq"
	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/chromedp/chromedp"
)

const (
	token  = "t0ken-for-the-review-page"
	bottle = "main-web001"
)

// site is the review page on real parts: a SQLite store and bus, a live
// proxy and the bottle's review owner, and the page on a loopback server.
type site struct {
	srv   *httptest.Server
	owner *review.Owner
	proxy *egressproxy.Proxy
}

func newSite(t *testing.T) *site {
	t.Helper()
	b := reviewtest.New(t, bottle, reviewtest.DefaultManifest)
	desk := review.NewDesk(review.DeskConfig{Channel: b.Bus, Running: func(context.Context, string) (bool, error) { return true, nil }})
	srv := httptest.NewServer(Handler(Config{Desk: desk, Store: b.Store, Token: token}))
	t.Cleanup(srv.Close)
	return &site{srv: srv, owner: b.Owner, proxy: b.Proxy}
}

// ask makes an agent request and returns where its result arrives.
func (s *site) ask(t *testing.T, host, why string) (string, chan review.Result) {
	t.Helper()
	return s.request(t, planner.RouteRequest{Host: host}, why)
}

// request makes the agent request req with justification why and returns
// where its result arrives.
func (s *site) request(t *testing.T, req planner.RouteRequest, why string) (string, chan review.Result) {
	t.Helper()
	res, err := s.owner.Request(context.Background(), req, why, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan review.Result, 1)
	go func() {
		r, _ := s.owner.Status(context.Background(), res.ProposalID, 60*time.Second)
		ch <- r
	}()
	return res.ProposalID, ch
}

func TestPageNeedsTheToken(t *testing.T) {
	s := newSite(t)
	for _, path := range []string{"/review", "/review/partial", "/review/events", "/review/app.js"} {
		resp, err := http.Get(s.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without the token: %d", path, resp.StatusCode)
		}
	}
	resp, _ := http.Get(s.srv.URL + "/review/login?token=wrong")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login with a wrong token: %d", resp.StatusCode)
	}
	// A bearer header works for programs.
	req, _ := http.NewRequest("GET", s.srv.URL+"/review/partial", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, _ = http.DefaultClient.Do(req)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("bearer: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestDecideRefusesOtherOrigins(t *testing.T) {
	s := newSite(t)
	id, _ := s.ask(t, "pypi.org", "x")
	form := url.Values{"proposal_id": {id}, "action": {"approve"}, "scope": {"once"}}
	req, _ := http.NewRequest("POST", s.srv.URL+"/review/decide", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: CookieName, Value: token}) // a browser would send it
	req.Header.Set("Origin", "http://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin decide: %d", resp.StatusCode)
	}
	if len(s.proxy.Routes().Routes) != 1 {
		t.Fatal("a cross-origin request changed the routes")
	}
}

// TestOneClickInChromium drives the page in headless Chromium: approve a
// pending proposal, then deny one that arrives while the page is open.
func TestOneClickInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		testreq.Missing(t, "chromium", err)
	}
	s := newSite(t)
	id1, first := s.ask(t, "pypi.org", `<img src=x onerror="document.title='pwned'"> need the index`)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()

	row := func(id string) string { return `#pending [data-proposal="` + id + `"]` }
	approve := row(id1) + ` button[value="approve"][data-scope="once"]`
	err = chromedp.Do(ctx,
		chromedp.Navigate(s.srv.URL+"/review/login?token="+token),
		chromedp.WaitVisible(approve),
		reviewtest.Click(approve),
		chromedp.WaitVisible(`#status.approved`),
	)
	if err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	status, err := chromedp.Run(ctx, chromedp.Text(`#status`))
	if err != nil {
		t.Fatal(err)
	}
	if title == "pwned" || !strings.Contains(status, "approved "+id1) {
		t.Fatalf("title %q, status %q", title, status)
	}
	if r := <-first; r.Status != schemas.ProposalApproved {
		t.Fatalf("agent got %+v", r)
	}

	// A proposal made while the page is open appears without a reload.
	id2, second := s.ask(t, "files.example.com", "need files")
	err = chromedp.Do(ctx,
		chromedp.WaitVisible(row(id2)+` button[value="deny"]`),
		chromedp.SendKeys(row(id2)+` input[name="reason"]`, "use the mirror"),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Another proposal redraws the list while the person types: what they
	// typed stays.
	id3, _ := s.ask(t, "other.example.com", "need other")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(row(id3)+` button[value="deny"]`)); err != nil {
		t.Fatal(err)
	}
	typed, err := chromedp.Run(ctx, chromedp.Value(row(id2)+` input[name="reason"]`))
	if err != nil || typed != "use the mirror" {
		t.Fatalf("the deny reason after a redraw: %q, %v", typed, err)
	}
	err = chromedp.Do(ctx,
		reviewtest.Click(row(id2)+` button[value="deny"]`),
		chromedp.WaitVisible(`#status.denied`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if r := <-second; r.Status != schemas.ProposalDenied || !strings.Contains(r.Notes, "use the mirror") {
		t.Fatalf("agent got %+v", r)
	}
}
