package cli

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/testpki"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// egressBinary is the bot-bottle binary the standalone proxy tests run.
func egressBinary(t *testing.T) string { return botBottle(t) }

// sidecar is a running `bot-bottle egress`.
type sidecarProc struct {
	cmd    *exec.Cmd
	addr   string
	events string
	stderr *strings.Builder
	mu     sync.Mutex
	client *http.Client
}

func (s *sidecarProc) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// waitEvents waits until the events file holds n events of kind.
func (s *sidecarProc) waitEvents(t *testing.T, kind schemas.Kind, n int) []schemas.Event {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got []schemas.Event
		b, _ := os.ReadFile(s.events)
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var ev schemas.Event
			if json.Unmarshal([]byte(line), &ev) == nil && ev.Kind == kind {
				got = append(got, ev)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %s events after 30s, want %d; log:\n%s", len(got), kind, n, s.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startSidecar(t *testing.T, env []string, args ...string) *sidecarProc {
	t.Helper()
	s := &sidecarProc{stderr: &strings.Builder{}, events: filepath.Join(t.TempDir(), "events.jsonl")}
	s.cmd = exec.Command(egressBinary(t), append([]string{"egress", "--listen", "127.0.0.1:0", "--events", s.events}, args...)...)
	s.cmd.Env = env
	pipe, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.cmd.Process.Kill(); _ = s.cmd.Wait() })
	ready := make(chan string, 1)
	re := regexp.MustCompile(`egress proxy listening"? addr=(\S+)`)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			s.mu.Lock()
			s.stderr.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m[1]
			}
		}
		close(ready)
	}()
	select {
	case addr, ok := <-ready:
		if !ok {
			t.Fatalf("egress exited before listening:\n%s", s.log())
		}
		s.addr = addr
	case <-time.After(60 * time.Second):
		t.Fatalf("egress did not start:\n%s", s.log())
	}
	u, _ := url.Parse("http://" + s.addr)
	s.client = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(u)}}
	return s
}

func (s *sidecarProc) get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := s.client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func writeRoutes(t *testing.T, path string, hosts ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("version: 1\nroutes:\n")
	for _, h := range hosts {
		fmt.Fprintf(&b, "  - host: %s\n", h)
		if h == "a.test" {
			b.WriteString("    auth: {scheme: Bearer, slot: EGRESS_TOKEN_0}\n")
		}
	}
	if err := os.WriteFile(path, schemas.SealRoutes([]byte(b.String())), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The standalone sidecar: token from its environment, the environment's
// proxy ignored, SIGHUP reloads, a broken file keeps the old table,
// metrics served, SIGTERM stops it cleanly.
func TestEgressStandalone(t *testing.T) {
	const token = "sidecar-token-0123456789abcdef"
	var authSeen sync.Map
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authSeen.Store(r.Host, r.Header.Get("Authorization") == "Bearer "+token)
		fmt.Fprintf(w, "hello from %s", r.Host)
	})
	up := httptest.NewServer(hello)
	defer up.Close()
	// a.test injects a credential, so it is reached over HTTPS only.
	pki := testpki.New(t)
	upTLS := pki.NewTLSServer(t, hello, "a.test")
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the environment's proxy was used for %s", r.URL)
	}))
	defer trap.Close()
	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	if out, err := exec.Command(egressBinary(t), "ca", "init", caDir).CombinedOutput(); err != nil {
		t.Fatalf("ca init: %v\n%s", err, out)
	}
	if out, err := exec.Command(egressBinary(t), "ca", "init", caDir).CombinedOutput(); err == nil || !strings.Contains(string(out), "Try:") {
		t.Fatalf("ca init over an existing CA: %v\n%s", err, out)
	}
	routes := filepath.Join(dir, "routes.yaml")
	writeRoutes(t, routes, "a.test")
	ml, _ := net.Listen("tcp", "127.0.0.1:0")
	metricsAddr := ml.Addr().String()
	ml.Close()
	upAddr := up.Listener.Addr().String()
	upCA := filepath.Join(dir, "upstream-ca.pem")
	os.WriteFile(upCA, pki.CertPEM(), 0o644)
	env := []string{"PATH=" + os.Getenv("PATH"), "EGRESS_TOKEN_0=" + token, "HTTP_PROXY=" + trap.URL, "HTTPS_PROXY=" + trap.URL}
	s := startSidecar(t, env, "--routes", routes, "--ca", caDir, "--bottle", "sc1", "--metrics", metricsAddr,
		"--upstream-ca", upCA, "--resolve", "a.test:443="+upTLS.Listener.Addr().String(),
		"--resolve", "a.test:80="+upAddr, "--resolve", "b.test:80="+upAddr)
	bottleCA, _ := os.ReadFile(filepath.Join(caDir, "ca.pem"))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(bottleCA)
	s.client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: roots}

	if code, body := s.get(t, "https://a.test/x"); code != 200 || body != "hello from a.test" {
		t.Fatalf("a.test: %d %s", code, body)
	}
	if ok, _ := authSeen.Load("a.test"); ok != true {
		t.Fatal("the token from the environment was not injected")
	}
	if code, body := s.get(t, "http://a.test/x"); code != 403 || !strings.Contains(body, `"reason":"cleartext_credential"`) {
		t.Fatalf("a.test over plain http: %d %s", code, body)
	}
	if code, body := s.get(t, "http://b.test/x"); code != 403 || !strings.Contains(body, `"reason":"host_not_allowed"`) {
		t.Fatalf("b.test before reload: %d %s", code, body)
	}
	s.waitEvents(t, schemas.KindDenial, 2)

	writeRoutes(t, routes, "a.test", "b.test")
	s.cmd.Process.Signal(syscall.SIGHUP)
	evs := s.waitEvents(t, schemas.KindReload, 1)
	var r schemas.Reload
	if err := evs[0].Decode(&r); err != nil || !r.OK || r.Source != "sighup" || r.After != 2 {
		t.Fatalf("reload event: %+v %v", r, err)
	}
	if code, body := s.get(t, "http://b.test/x"); code != 200 {
		t.Fatalf("b.test after reload: %d %s", code, body)
	}

	os.WriteFile(routes, schemas.SealRoutes([]byte("version: 1\nroutes:\n  - hots: c.test\n")), 0o600)
	s.cmd.Process.Signal(syscall.SIGHUP)
	evs = s.waitEvents(t, schemas.KindReload, 2)
	if err := evs[1].Decode(&r); err != nil || r.OK || !strings.Contains(r.Error, "hots") {
		t.Fatalf("reload of a broken file: %+v %v", r, err)
	}
	if code, _ := s.get(t, "http://b.test/x"); code != 200 {
		t.Fatalf("the old table was not kept: %d", code)
	}
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`bot_bottle_egress_reloads_total{bottle="sc1",result="error"} 1`, `bot_bottle_egress_reloads_total{bottle="sc1",result="ok"} 1`,
		`bot_bottle_egress_decisions_total{bottle="sc1",reason="host_not_allowed"} 1`,
		"\ngo_goroutines ", "\nprocess_open_fds ", "\nprocess_resident_memory_bytes "} {
		if !strings.Contains(string(mb), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, s.log())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not stop on SIGTERM")
	}
	all, _ := os.ReadFile(s.events)
	if strings.Contains(s.log(), token) || strings.Contains(string(all), token) {
		t.Fatal("the token appears in the sidecar's log or events")
	}
}

func TestEgressFlags(t *testing.T) {
	dir := t.TempDir()
	routes := filepath.Join(dir, "routes.yaml")
	writeRoutes(t, routes, "a.test")
	cases := map[string][]string{
		"no CA":           {"egress", "--routes", routes, "--ca", filepath.Join(dir, "nope"), "--listen", "127.0.0.1:0"},
		"missing slot":    {"egress", "--routes", routes, "--ca", dir, "--listen", "127.0.0.1:0"},
		"bad routes file": {"egress", "--routes", filepath.Join(dir, "none.yaml"), "--ca", dir, "--listen", "127.0.0.1:0"},
	}
	if out, err := exec.Command(egressBinary(t), "ca", "init", dir).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	os.Remove(filepath.Join(dir, "nope"))
	for name, args := range cases {
		cmd := exec.Command(egressBinary(t), args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.HasPrefix(string(out), "Error: ") {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
	}
}
