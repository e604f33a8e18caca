package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/planner"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// A routes file cut off mid-write (a full disk, a crash, a copy that
// stopped) must not widen the policy: the standalone sidecar, sent SIGHUP
// with every prefix of a real planner-written routes file, keeps its old
// table every time and says why, and takes the whole file when it comes.
func TestEgressRefusesATruncatedRoutesFile(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s", r.Host)
	}))
	defer up.Close()
	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	if out, err := exec.Command(egressBinary(t), "ca", "init", caDir).CombinedOutput(); err != nil {
		t.Fatalf("ca init: %v\n%s", err, out)
	}
	// The old table: a.test only GET under /ok/; b.test only HEAD. The new
	// one is the same with longer host names, so a cut inside a host name
	// can only ever name a host the old table does not have.
	old := &schemas.RoutesFile{Version: schemas.RoutesVersion, Routes: []schemas.RouteRule{
		{Host: "a.test", PathAllowlist: []string{"/ok/"}, Methods: []string{"GET"}},
		{Host: "b.test", Methods: []string{"HEAD"}},
	}}
	next := &schemas.RoutesFile{Version: schemas.RoutesVersion, Routes: []schemas.RouteRule{
		{Host: "a.test", PathAllowlist: []string{"/ok/"}, Methods: []string{"GET"}},
		{Host: "b.test", Methods: []string{"HEAD"}},
		{Host: "cc.test", PathAllowlist: []string{"/only/"}, Methods: []string{"GET"}},
	}}
	routes := filepath.Join(dir, "routes.yaml")
	whole := planner.RenderRoutesFile("truncation test", next)
	if err := os.WriteFile(routes, planner.RenderRoutesFile("truncation test", old), 0o600); err != nil {
		t.Fatal(err)
	}
	upAddr := up.Listener.Addr().String()
	s := startSidecar(t, []string{"PATH=" + os.Getenv("PATH")}, "--routes", routes, "--ca", caDir, "--bottle", "trunc",
		"--resolve", "a.test:80="+upAddr, "--resolve", "b.test:80="+upAddr, "--resolve", "c.test:80="+upAddr, "--resolve", "cc.test:80="+upAddr)

	// What the old table allows and denies; checked after every refusal.
	type probe struct {
		method, url string
		want        int
	}
	probes := []probe{
		{"GET", "http://a.test/ok/x", 200},
		{"GET", "http://a.test/secret", 403},
		{"POST", "http://a.test/ok/x", 403},
		{"GET", "http://b.test/x", 403},
		{"GET", "http://c.test/x", 403},
		{"GET", "http://cc.test/only/x", 403},
	}
	check := func(when string) {
		t.Helper()
		for _, p := range probes {
			req, _ := http.NewRequest(p.method, p.url, nil)
			resp, err := s.client.Do(req)
			if err != nil {
				t.Fatalf("%s: %s %s: %v", when, p.method, p.url, err)
			}
			resp.Body.Close()
			if resp.StatusCode != p.want {
				t.Fatalf("%s: %s %s = %d, want %d (the old table is not in force)", when, p.method, p.url, resp.StatusCode, p.want)
			}
		}
	}
	check("before any reload")

	reloads := &eventTail{path: s.events}
	for cut := 0; cut < len(whole); cut++ {
		if err := os.WriteFile(routes, whole[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		var r schemas.Reload
		if err := reloads.next(t, s, schemas.KindReload).Decode(&r); err != nil {
			t.Fatal(err)
		}
		if r.OK || r.Error == "" || r.After != len(old.Routes) {
			t.Fatalf("the file cut at byte %d of %d (%q) was taken: %+v", cut, len(whole), tail(whole[:cut]), r)
		}
		check(fmt.Sprintf("after the file cut at byte %d of %d", cut, len(whole)))
	}
	if !strings.Contains(s.log(), "routes reload refused; keeping the old table") {
		t.Fatalf("the log does not say the reload was refused:\n%s", s.log())
	}

	if err := os.WriteFile(routes, whole, 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd.Process.Signal(syscall.SIGHUP)
	var r schemas.Reload
	if err := reloads.next(t, s, schemas.KindReload).Decode(&r); err != nil || !r.OK || r.After != len(next.Routes) {
		t.Fatalf("the whole file was refused: %+v %v", r, err)
	}
	resp, err := s.client.Get("http://cc.test/only/x")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the whole file: %v %v", resp, err)
	}
	resp.Body.Close()
}

// eventTail reads a sidecar's events file from where it last stopped, so
// that waiting for each of hundreds of events does not parse the whole
// file again.
type eventTail struct {
	path    string
	offset  int64
	pending []byte
}

// next returns the next event of kind written after the last one returned.
func (e *eventTail) next(t *testing.T, s *sidecarProc, kind schemas.Kind) schemas.Event {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		f, err := os.Open(e.path)
		if err != nil {
			t.Fatal(err)
		}
		chunk, err := io.ReadAll(io.NewSectionReader(f, e.offset, 1<<30))
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		e.offset += int64(len(chunk))
		e.pending = append(e.pending, chunk...)
		for {
			i := bytes.IndexByte(e.pending, '\n')
			if i < 0 {
				break
			}
			line := e.pending[:i]
			e.pending = e.pending[i+1:]
			var ev schemas.Event
			if json.Unmarshal(line, &ev) == nil && ev.Kind == kind {
				return ev
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event after 30s; log:\n%s", kind, s.log())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// tail is the end of a cut file, for a failure message.
func tail(b []byte) string {
	if len(b) > 40 {
		b = b[len(b)-40:]
	}
	return string(b)
}
