package main

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/planner"
)

// Hosts the agent stand-ins talk to; --resolve sends all of them to one
// loopback TLS upstream.
var agentHosts = []string{planner.AnthropicHost, planner.ChatGPTHost, "docs.test", "denied.test"}

// agentE2E runs the claude and codex stand-ins (testdata/agentstandin) as
// a bottle's agent: a home with a claude bottle (token from
// TEST_CLAUDE_TOKEN) and a codex bottle (the host's ~/.codex/auth.json
// forwarded), each also routing docs.test/public/, and a loopback upstream
// for the API hosts, docs.test and denied.test that records which
// credential each request carried.
type agentE2E struct {
	t        *testing.T
	bin      string
	backend  string // --backend
	runtime  string // the runtime its bottles ask for (docker), or ""
	home     string // BOT_BOTTLE_HOME
	hostHome string
	workdir  string
	caFile   string
	upstream *httptest.Server
	env      []string
	// Credentials the proxy injects; neither may reach a bottle.
	claudeToken, codexToken string

	mu   sync.Mutex
	seen map[string][]string // host -> the Authorization of each request ("real", "none" or "other")
}

// newAgentE2E sets up the agent bottles on variant, an entry of backends.
func newAgentE2E(t *testing.T, variant string) *agentE2E {
	t.Helper()
	e := &agentE2E{t: t, bin: botBottle(t), seen: map[string][]string{}}
	e.backend, e.runtime = backendOf(variant)
	requireBackend(t, variant, e.bin)
	base, err := os.MkdirTemp("", "bbag-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(base) })
	e.home, e.hostHome, e.workdir = filepath.Join(base, "bb"), filepath.Join(base, "home"), filepath.Join(base, "work")
	for _, d := range []string{filepath.Join(e.home, "bottles"), filepath.Join(e.hostHome, ".codex"), filepath.Join(e.workdir, "bin")} {
		must(t, os.MkdirAll(d, 0o755))
	}
	e.claudeToken, e.codexToken = "claude-tok-"+randomHex(), "codex-tok-"+randomHex()
	must(t, os.WriteFile(filepath.Join(e.hostHome, ".codex", "auth.json"),
		[]byte(`{"tokens":{"access_token":"`+e.codexToken+`","account_id":"acct-standin"}}`), 0o600))
	standin := agentStandin(t)
	for _, name := range []string{"claude", "codex"} {
		data, err := os.ReadFile(standin)
		must(t, err)
		must(t, os.WriteFile(filepath.Join(e.workdir, "bin", name), data, 0o755))
	}
	e.writeBottles("")
	leaf, caPEM := upstreamPKI(t, agentHosts...)
	e.upstream = httptest.NewUnstartedServer(http.HandlerFunc(e.serveUpstream))
	e.upstream.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	e.upstream.StartTLS()
	t.Cleanup(e.upstream.Close)
	e.caFile = filepath.Join(base, "upstream-ca.pem")
	must(t, os.WriteFile(e.caFile, caPEM, 0o644))
	e.env = []string{"HOME=" + e.hostHome, "BOT_BOTTLE_HOME=" + e.home,
		"PATH=" + filepath.Join(e.workdir, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
		"TEST_CLAUDE_TOKEN=" + e.claudeToken}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		e.env = append(e.env, "DOCKER_HOST="+h)
	}
	t.Cleanup(func() { _, _ = e.cli("cleanup") })
	return e
}

// writeBottles writes the claude and codex bottles, in image when given.
func (e *agentE2E) writeBottles(image string) {
	img := ""
	if image != "" {
		img = ", image: " + image
	}
	bottles := map[string]string{
		"claudy": "agent_provider: {template: claude, auth_token: TEST_CLAUDE_TOKEN" + img + "}\n",
		"codexy": "agent_provider: {template: codex, forward_host_credentials: true" + img + "}\n",
	}
	for name, manifest := range bottles {
		must(e.t, os.WriteFile(filepath.Join(e.home, "bottles", name+".yaml"),
			[]byte(runtimeLine(e.runtime)+manifest+"env: {STANDIN_SCENARIO: remediate}\negress:\n  routes:\n    - {host: docs.test, path_allowlist: [/public/]}\n"), 0o644))
	}
}

// serveUpstream answers every host without ever echoing a header back,
// and records whether the request carried the real credential.
func (e *agentE2E) serveUpstream(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	kind := "other"
	switch auth {
	case "":
		kind = "none"
	case "Bearer " + e.claudeToken, "Bearer " + e.codexToken:
		kind = "real"
	}
	e.mu.Lock()
	e.seen[r.Host] = append(e.seen[r.Host], kind)
	e.mu.Unlock()
	fmt.Fprintf(w, "upstream-ok host=%s path=%s auth=%s", r.Host, r.URL.Path, kind)
}

func (e *agentE2E) seenAuth(host string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string{}, e.seen[host]...)
}

func (e *agentE2E) command(args ...string) *exec.Cmd {
	cmd := exec.Command(e.bin, args...)
	cmd.Env = e.env
	cmd.Dir = e.workdir
	return cmd
}

func (e *agentE2E) cli(args ...string) (string, error) {
	out, err := e.command(args...).CombinedOutput()
	return string(out), err
}

// launchArgs launches bottle with its provider's default command, or
// headless on prompt.
func (e *agentE2E) launchArgs(bottle, prompt string) []string {
	args := []string{"launch", "--backend", e.backend, "--workdir", e.workdir, "--upstream-ca", e.caFile}
	for _, h := range agentHosts {
		args = append(args, "--resolve", h+":443="+e.upstream.Listener.Addr().String())
	}
	if prompt != "" {
		args = append(args, "--prompt", prompt)
	}
	return append(args, bottle)
}

// runRemediation launches bottle, approves the proposal its agent makes
// from another process (bot-bottle review approve), and returns the
// launch's exit code and output.
func (e *agentE2E) runRemediation(bottle string) (code int, stdout, stderr string) {
	e.t.Helper()
	cmd := e.command(e.launchArgs(bottle, "")...)
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	must(e.t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	e.t.Cleanup(func() { _ = cmd.Process.Kill() })
	approved := false
	deadline := time.After(3 * time.Minute)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				e.t.Fatalf("launch: %v", err)
			}
			if !approved {
				e.t.Errorf("the agent ended before it asked for access")
			}
			return code, out.String(), errb.String()
		case <-deadline:
			_ = cmd.Process.Kill()
			e.t.Fatalf("timed out; stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
		case <-tick.C:
			if approved {
				continue
			}
			if id := e.pendingProposal("denied.test"); id != "" {
				if msg, err := e.cli("review", "approve", id); err != nil {
					e.t.Fatalf("review approve %s: %v\n%s", id, err, msg)
				}
				approved = true
			}
		}
	}
}

// pendingProposal returns the id of a pending proposal for host, if any.
func (e *agentE2E) pendingProposal(host string) string {
	raw, err := e.command("review", "--json").Output()
	if err != nil {
		return ""
	}
	var views []struct {
		ID   string `json:"proposal_id"`
		Host string `json:"host"`
	}
	if json.Unmarshal(raw, &views) != nil {
		return ""
	}
	for _, v := range views {
		if v.Host == host {
			return v.ID
		}
	}
	return ""
}

// assertNoToken checks that neither credential appears in s.
func (e *agentE2E) assertNoToken(where, s string) {
	e.t.Helper()
	for name, tok := range map[string]string{"the Claude token": e.claudeToken, "the Codex token": e.codexToken} {
		if strings.Contains(s, tok) {
			e.t.Errorf("%s is visible in %s", name, where)
		}
	}
}

// agentStandin returns the path of testdata/agentstandin, built static so
// it also runs in a FROM-scratch image.
func agentStandin(t testing.TB) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	p, err := buildStatic("./testdata/agentstandin", "agentstandin")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func randomHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// syncBuffer is a bytes.Buffer safe for a process's writes and the test's
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
