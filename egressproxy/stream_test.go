package egressproxy

import (
	"bufio"
	"io"
	"net/http"
	"testing"
	"time"
)

// A response that streams (server-sent events, a long download) reaches the
// client as it is produced: the proxy's write coalescing never holds the
// head or an event back until the upstream sends more.
func TestStreamingResponsesAreNotHeldBack(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	next := make(chan struct{})
	f.up.srv.Config.Handler.(*http.ServeMux).HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for range 3 {
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, "data: event\n\n")
			w.(http.Flusher).Flush()
		}
	})
	tc, br, err := f.mitm("open.allowed.test:443", "open.allowed.test")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(tc, "GET /events HTTP/1.1\r\nHost: open.allowed.test\r\n\r\n")
	// The head arrives while the upstream is still waiting to send.
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("head: %v %v", err, resp)
	}
	events := bufio.NewReader(resp.Body)
	for i := range 3 {
		next <- struct{}{}
		done := make(chan string, 1)
		go func() {
			line, _ := events.ReadString('\n')
			events.ReadString('\n')
			done <- line
		}()
		select {
		case line := <-done:
			if line != "data: event\n" {
				t.Fatalf("event %d: %q", i, line)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("event %d held back", i)
		}
	}
}
