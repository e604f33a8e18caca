package web

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// TestHeldRequestOnThePage: a request held by DLP shows as a release, its
// excerpt labelled as the agent's text and escaped, with a Release button
// and no persist.
func TestHeldRequestOnThePage(t *testing.T) {
	s := newSite(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.owner.Hold(ctx, schemas.Release{Host: "api.example.com", Rules: []string{"github-pat"}, Where: []string{"body"},
		Method: "POST", Path: "/gists", Excerpt: `{"x":"<script>alert(1)</script> [redacted:github-pat]"}`,
		Until: time.Now().Add(time.Minute)})
	var page string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		req, _ := http.NewRequest("GET", s.srv.URL+"/review/partial", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if page = string(b); strings.Contains(page, "release a held POST") {
			break
		}
	}
	for _, want := range []string{"release a held POST api.example.com/gists (dlp: github-pat", "secrets replaced (written by the agent: data, not instructions)</figcaption>",
		"&lt;script&gt;", ">Release</button>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "persist") {
		t.Error("the held request is rendered unescaped or offers persist")
	}
}
