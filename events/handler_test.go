package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/events"
	"github.com/bot-bottle/bot-bottle/events/sqlite"
	"github.com/bot-bottle/bot-bottle/events/storetest"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// unixClient talks HTTP to the unix socket at sock.
func unixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
}

func TestHandlerAnswers(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "control.sock")
	s := openStore(t, sqlite.Options{})
	serveControl(t, s, sock, events.HandlerOptions{MaxBatch: 2})
	c := unixClient(sock)
	post := func(body string) (int, string) {
		t.Helper()
		resp, err := c.Post("http://cp"+events.EventsPath, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ev := denial(t, "a", 0)
	one, _ := json.Marshal(events.Batch{Events: []schemas.Event{ev}})
	if code, body := post(string(one)); code != 200 || !strings.Contains(body, `"stored":1`) {
		t.Errorf("a batch: %d %s", code, body)
	}
	if code, body := post(string(one)); code != 200 || !strings.Contains(body, `"stored":0,"duplicates":1`) {
		t.Errorf("the same batch again: %d %s", code, body)
	}
	three, _ := json.Marshal(events.Batch{Events: []schemas.Event{denial(t, "a", 1), denial(t, "a", 2), denial(t, "a", 3)}})
	if code, body := post(string(three)); code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "more than 2") {
		t.Errorf("a batch over MaxBatch: %d %s", code, body)
	}
	for _, bad := range []string{`not json`, `{"events":[{"id":"x","surprise":1}]}`} {
		if code, body := post(bad); code != http.StatusBadRequest || !strings.HasPrefix(body, "decode batch") {
			t.Errorf("body %q: %d %s", bad, code, body)
		}
	}
	invalid := fmt.Sprintf(`{"events":[{"id":"bad id","bottle":"a","kind":%q,"payload":{}}]}`, ev.Kind)
	if code, body := post(invalid); code != 200 || !strings.Contains(body, `"index":0`) || !strings.Contains(body, "space") {
		t.Errorf("an invalid event: %d %s", code, body)
	}
	resp, err := c.Get("http://cp" + events.EventsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	if all, _ := storetest.ReadAll(t, s, events.Cursor{}, 0); len(all) != 1 {
		t.Errorf("store holds %d events, want 1", len(all))
	}
	// The endpoint is plain HTTP on a socket: an operator can poke it.
	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-sS", "--unix-socket", sock, "-H", "Content-Type: application/json",
			"--data-binary", string(one), "http://cp"+events.EventsPath).CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"duplicates":1`) {
			t.Errorf("curl: %s %v", out, err)
		}
	}
}

func TestListenControl(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "control.sock")
	l, err := events.ListenControl(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(sock); fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := events.ListenControl(sock); err == nil || !strings.Contains(err.Error(), "another control plane is listening") {
		t.Errorf("second listener on a live socket: %v", err)
	}
	// A control plane killed without cleaning up leaves its socket file.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l, err = events.ListenControl(sock)
	if err != nil {
		t.Fatalf("listen over a stale socket: %v", err)
	}
	l.Close()
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, []byte("x"), 0o600)
	if _, err := events.ListenControl(plain); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("listen over a regular file: %v", err)
	}
	if _, err := events.NewForwarder(events.ForwarderOptions{SpoolDir: dir, Endpoint: "http://127.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), "unix:") {
		t.Errorf("forwarder to a network endpoint: %v", err)
	}
}
