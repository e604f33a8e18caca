package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/dlp/dlptest"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// TestDLPSuperviseAcrossProcesses is a held request's whole life on real
// parts: a `bot-bottle launch` process owns a local bottle whose client
// POSTs an AWS access key id to a route with dlp: {on_match: supervise};
// the proxy holds it; an operator in other processes sees it with
// `bot-bottle review --json` and releases it with `bot-bottle review
// approve`, refuses the next with `review deny`, and lets the third time
// out. The upstream receives the released request exactly once, and the
// secret is in no event, listing or log.
func TestDLPSuperviseAcrossProcesses(t *testing.T) {
	e := newE2E(t, "local")
	aws, hostSecret := dlptest.AWSKeyID(), dlptest.Random(40)
	must(t, os.WriteFile(filepath.Join(e.home, "bottles", "dlp.yaml"), []byte(`dlp: {on_match: supervise}
egress:
  routes:
    - host: uploads.test
`), 0o644))
	must(t, os.WriteFile(filepath.Join(e.workdir, "body.json"), []byte(`{"file":"creds","aws_access_key_id":"`+aws+`"}`), 0o644))

	var received atomic.Int32
	var gotBody atomic.Value
	leaf, caPEM := upstreamPKI(t, "uploads.test")
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		received.Add(1)
		gotBody.Store(string(b))
		fmt.Fprint(w, "stored")
	}))
	up.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	up.StartTLS()
	t.Cleanup(up.Close)
	caFile := filepath.Join(e.base, "uploads-ca.pem")
	must(t, os.WriteFile(caFile, caPEM, 0o644))

	cmd := e.command("launch", "--backend", "local", "--workdir", e.workdir, "--upstream-ca", caFile,
		"--resolve", "uploads.test:443="+up.Listener.Addr().String(), "--dlp-hold-timeout", "20s",
		"dlp", "--", e.client, "posts", "https://uploads.test/upload", filepath.Join(e.workdir, "body.json"), "3")
	cmd.Env = append(cmd.Env, "DEPLOY_SECRET="+hostSecret) // a host secret the bottle is not given
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	must(t, cmd.Start())
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	lines := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_ = cmd.Wait()
		close(done)
		close(lines)
	}()
	expect := func(re string) {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the bottle client ended; launch said:\n%s", stderr.String())
			}
			if !regexp.MustCompile(re).MatchString(l) {
				t.Fatalf("bottle client said %q, want %s", l, re)
			}
		case <-time.After(3 * time.Minute):
			t.Fatalf("no line matching %s; launch said:\n%s", re, stderr.String())
		}
	}
	// pending waits for the bottle's one pending release proposal, as
	// `bot-bottle review --json` (another process) lists it.
	pending := func() review.View {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			out, err := e.command("review", "--json").Output()
			must(t, err)
			if bytes.Contains(out, []byte(aws)) {
				t.Fatal("review --json shows the secret")
			}
			var views []review.View
			must(t, json.Unmarshal(out, &views))
			if len(views) == 1 {
				if views[0].Kind != schemas.ProposalRelease || views[0].Release == nil || views[0].Release.Rules[0] != "aws-access-token" {
					t.Fatalf("pending proposal: %+v", views[0])
				}
				return views[0]
			}
		}
		t.Fatalf("no pending release proposal; launch said:\n%s", stderr.String())
		return review.View{}
	}

	v := pending()
	out, err := e.cli("review")
	if err != nil || !strings.Contains(out, "agent's text, secrets replaced: «") || !strings.Contains(out, "[redacted:aws-access-token]") || strings.Contains(out, aws) {
		t.Fatalf("review lists the held request as:\n%s (%v)", out, err)
	}
	if out, err := e.cli("review", "approve", v.ID); err != nil || !strings.HasPrefix(out, "approved "+v.ID) {
		t.Fatalf("review approve: %v\n%s", err, out)
	}
	expect(`^post 0 status=200 reason=$`)
	if received.Load() != 1 || gotBody.Load().(string) != `{"file":"creds","aws_access_key_id":"`+aws+`"}` {
		t.Fatalf("the upstream received %d requests", received.Load())
	}

	v = pending()
	if out, err := e.cli("review", "deny", v.ID, "--reason", "keys stay home"); err != nil || !strings.HasPrefix(out, "denied "+v.ID) {
		t.Fatalf("review deny: %v\n%s", err, out)
	}
	expect(`^post 1 status=403 reason=dlp_refused$`)

	pending() // and nobody decides
	expect(`^post 2 status=403 reason=dlp_hold_timeout$`)
	if n := received.Load(); n != 1 {
		t.Fatalf("the upstream received %d requests, want the released one only", n)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("launch did not end with its command")
	}
	// Neither secret is in the channel's store, the run folders or launch's output.
	for _, s := range []string{aws, hostSecret} {
		if strings.Contains(stderr.String(), s) {
			t.Error("launch's output carries a secret")
		}
		_ = filepath.WalkDir(e.home, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(s)) {
					t.Errorf("%s carries a secret", p)
				}
			}
			return nil
		})
	}
}
