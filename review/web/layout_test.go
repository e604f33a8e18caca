package web

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/reviewtest"
	"github.com/bot-bottle/bot-bottle/internal/testreq"
	"github.com/chromedp/chromedp"
)

// TestDeskLayoutAndAgentText renders the desk in headless Chromium at a
// desktop and a phone width with a hostile justification pending, and
// looks at what a person sees: no sideways scrolling, every decide button
// inside the screen, the evidence beside the proposal, the agent's words
// inside the box labelled as the agent's with its tricks shown escaped
// (no bidi override, no escape, no markup run), and a screenshot as wide
// as the screen.
func TestDeskLayoutAndAgentText(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		testreq.Missing(t, "chromium", err)
	}
	s := newSite(t)
	id, _ := s.ask(t, "pypi.org", reviewtest.Hostile)
	card := `#pending [data-proposal="` + id + `"]`

	for _, width := range []int64{1280, 360} {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
			chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true))
		actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(actx)
		ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
		err := chromedp.Do(ctx,
			chromedp.EmulateViewport(width, 800),
			chromedp.Navigate(s.srv.URL+"/review/login?token="+token),
			chromedp.WaitVisible(card+` button[value="deny"]`),
		)
		// The live stream's state is shown (polled: the class changes in place).
		state := ""
		for deadline := time.Now().Add(20 * time.Second); state != "connected" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			state, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("state").className`))
		}
		if state != "connected" {
			t.Errorf("%d px: the live state shows %q, not connected", width, state)
		}
		overflow, err1 := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelectorAll("#pending details").forEach(function (d) { d.open = true; }), document.documentElement.scrollWidth > window.innerWidth`))
		// Modify's fields open, as a person opens them; the form's hidden
		// default button (Enter never approves) is not one to press.
		buttonsOut, err2 := chromedp.Run(ctx, chromedp.Evaluate[[]string](`document.querySelectorAll("#pending details").forEach(function (d) { d.open = true; }),
			Array.from(document.querySelectorAll("#pending button:not([hidden])")).filter(function (b) {
			var r = b.getBoundingClientRect(); return r.width === 0 || r.left < 0 || r.right > window.innerWidth;
		}).map(function (b) { return b.textContent; })`))
		agentText, err3 := chromedp.Run(ctx, chromedp.Text(card+` figure.agent .agent-text`))
		caption, err4 := chromedp.Run(ctx, chromedp.Text(card+` figure.agent figcaption`))
		evidence, err5 := chromedp.Run(ctx, chromedp.Text(card+` dl.evidence`))
		markup, err6 := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#live img, #live script").length`))
		title, err7 := chromedp.Run(ctx, chromedp.Title())
		shot, err8 := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		err = errors.Join(err, err1, err2, err3, err4, err5, err6, err7, err8)
		cancelT()
		cancel()
		cancelA()
		if err != nil {
			t.Fatalf("%d px: %v", width, err)
		}
		if overflow {
			t.Errorf("%d px: the page scrolls sideways", width)
		}
		if len(buttonsOut) > 0 {
			t.Errorf("%d px: buttons outside the screen: %q", width, buttonsOut)
		}
		if !strings.Contains(agentText, reviewtest.HostileMarker) || !strings.Contains(caption, "written by the agent") {
			t.Errorf("%d px: the agent's words are not in the labelled box: caption %q, text %q", width, caption, agentText)
		}
		for _, bad := range []string{"\x1b", "\x07", "\r", "\u202e"} {
			if strings.Contains(agentText, bad) {
				t.Errorf("%d px: the page shows %q from the agent's text as itself", width, bad)
			}
		}
		if !strings.Contains(agentText, "[U+202E]") {
			t.Errorf("%d px: the override is not shown escaped: %q", width, agentText)
		}
		if markup != 0 || title == "pwned" {
			t.Errorf("%d px: the agent's markup ran (%d elements, title %q)", width, markup, title)
		}
		for _, want := range []string{"denied requests it answers", "live routes for pypi.org now", "approve + persist", "+    - host: pypi.org"} {
			if !strings.Contains(evidence, want) {
				t.Errorf("%d px: the evidence lacks %q: %q", width, want, evidence)
			}
		}
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			t.Fatalf("%d px: the screenshot: %v", width, err)
		}
		if got := int64(img.Bounds().Dx()); got != width {
			t.Errorf("%d px: the screenshot is %d px wide", width, got)
		}
	}
}
