package egressproxy

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/schemas"
)

func TestReload(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	if resp, _, err := f.do("GET", "https://other.allowed.test/x", nil, nil); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("host allowed before the reload that adds it: %v %v", err, resp)
	}
	before := f.proxy.RoutesDigest()
	next := append(append([]schemas.RouteRule(nil), defaultRoutes...), schemas.RouteRule{Host: "other.allowed.test"})
	if err := f.proxy.Reload(&schemas.RoutesFile{Version: 1, Routes: next}, "api"); err != nil {
		t.Fatal(err)
	}
	if resp, b, err := f.do("GET", "https://other.allowed.test/x", nil, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after reload: %v %v %s", err, resp, b)
	}
	// A broken table keeps the old one.
	bad := &schemas.RoutesFile{Version: 1, Routes: []schemas.RouteRule{{Host: "x.test", Auth: &schemas.SlotAuth{Scheme: "Bearer", Slot: "EGRESS_TOKEN_9"}}}}
	if err := f.proxy.Reload(bad, "api"); err == nil {
		t.Fatal("a table naming a slot without a token was accepted")
	}
	if resp, b, err := f.do("GET", "https://other.allowed.test/x", nil, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after a refused reload: %v %v %s", err, resp, b)
	}
	var reloads []schemas.Reload
	for _, ev := range f.pub.Events() {
		if ev.Kind == schemas.KindReload {
			var r schemas.Reload
			if err := ev.Decode(&r); err != nil {
				t.Fatal(err)
			}
			reloads = append(reloads, r)
		}
	}
	if len(reloads) != 2 || !reloads[0].OK || reloads[0].BeforeDigest != before || reloads[0].After != len(next) ||
		reloads[1].OK || reloads[1].Error == "" || reloads[1].AfterDigest != reloads[0].AfterDigest {
		t.Fatalf("reload events: %+v", reloads)
	}
	if got := f.proxy.Routes(); got.Digest() != f.proxy.RoutesDigest() || len(got.Routes) != len(next) {
		t.Fatalf("Routes() does not match the live table")
	}
	// Routes returns a copy.
	f.proxy.Routes().Routes[0].Host = "mutated.test"
	if f.proxy.Routes().Routes[0].Host == "mutated.test" {
		t.Fatal("Routes() exposes the live table")
	}
}

// Reloading while requests stream through, on fresh and on kept-alive
// connections, fails none of them.
func TestReloadUnderLoad(t *testing.T) {
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		time.Sleep(20 * time.Millisecond)
		io.WriteString(w, "done")
	})
	f := newFixture(t, defaultRoutes)
	f.up.srv.Config.Handler.(*http.ServeMux).Handle("/slow", slow)
	tables := []*schemas.RoutesFile{
		{Version: 1, Routes: defaultRoutes},
		{Version: 1, Routes: append(append([]schemas.RouteRule(nil), defaultRoutes...), schemas.RouteRule{Host: "other.allowed.test"})},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				url := "https://open.allowed.test/slow"
				if w%2 == 0 {
					url = "http://plain.allowed.test/p"
				}
				if w%3 == 0 {
					f.client.CloseIdleConnections()
				}
				resp, body, err := f.do("GET", url, nil, nil)
				if err != nil || resp.StatusCode != 200 || len(body) == 0 {
					failed.Add(1)
					t.Errorf("request during reloads: %v %v", err, resp)
					return
				}
				ok.Add(1)
			}
		}()
	}
	reloads := 0
	for ctx.Err() == nil {
		if err := f.proxy.Reload(tables[reloads%2], "api"); err != nil {
			t.Fatal(err)
		}
		reloads++
		time.Sleep(2 * time.Millisecond)
	}
	wg.Wait()
	if failed.Load() != 0 || ok.Load() < 20 || reloads < 20 {
		t.Fatalf("%d ok, %d failed, %d reloads", ok.Load(), failed.Load(), reloads)
	}
	t.Logf("%d requests, %d reloads, 0 failed", ok.Load(), reloads)
}
