package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/reviewtest"
	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/review"
	"github.com/chromedp/chromedp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// remediation is the whole loop on real parts, across processes: a
// `bot-bottle launch` process owns a local bottle whose client is denied;
// the agent asks on the bottle's agent surface (official Go SDK); an
// operator decides from a `bot-bottle serve --http` process (over MCP and
// on its web page) or with `bot-bottle review`; the bottle's proxy changes
// live.
type remediation struct {
	e        *e2e
	launch   *exec.Cmd
	id       string
	lines    chan string // the bottle client's stdout
	serve    string      // http://127.0.0.1:port of serve --http
	token    string
	operator *sdk.ClientSession
	notes    chan string // "proposal <bottle>" for each proposal logged to the operator
	agent    *sdk.ClientSession
}

var hostsForRemediation = []string{"pkg-mcp.test", "pkg-cli.test", "pkg-web.test"}

func newRemediation(t *testing.T, extraHosts ...string) *remediation {
	t.Helper()
	return newRemediationRunning(t, nil, extraHosts...)
}

// newRemediationRunning is newRemediation with the bottle running command
// (default: the bottle client's remediation walk).
func newRemediationRunning(t *testing.T, command []string, extraHosts ...string) *remediation {
	t.Helper()
	e := newE2E(t, "local")
	r := &remediation{e: e, token: "review-e2e-token-0123456789abcdef", lines: make(chan string, 64), notes: make(chan string, 64)}
	hosts := append(slices.Clone(hostsForRemediation), extraHosts...)
	leaf, caPEM := upstreamPKI(t, hosts...)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		fmt.Fprintf(w, "pkg-ok %s%s", req.Host, req.URL.Path)
	}))
	up.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	up.StartTLS()
	t.Cleanup(up.Close)
	// One --upstream-ca file trusts both upstreams.
	both, err := os.ReadFile(e.caFile) // e.caFile trusts the first upstream
	must(t, err)
	caFile := filepath.Join(e.base, "both-ca.pem")
	must(t, os.WriteFile(caFile, append(both, caPEM...), 0o644))
	// The bottle sees the host's files only through its workdir: put the
	// binary there, for a bottle that tries to use it against its owner.
	binData, err := os.ReadFile(e.bin)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(e.workdir, "bot-bottle"), binData, 0o755))
	resolve := []string{"--resolve", "allowed.test:443=" + e.upstream.Listener.Addr().String()}
	for _, h := range hosts {
		resolve = append(resolve, "--resolve", h+":443="+up.Listener.Addr().String())
	}

	// The owner: launch, with the bottle client walking the loop.
	args := append([]string{"launch", "--backend", "local", "--workdir", e.workdir, "--upstream-ca", caFile}, resolve...)
	if command == nil {
		command = append([]string{e.client, "remediate", e.workdir}, hostsForRemediation...)
	}
	r.launch = e.command(append(append(args, "demo", "--"), command...)...)
	stdout, err := r.launch.StdoutPipe()
	must(t, err)
	stderr, err := r.launch.StderrPipe()
	must(t, err)
	must(t, r.launch.Start())
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = r.launch.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = r.launch.Process.Kill()
		}
	})
	ids := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := idLine.FindStringSubmatch(sc.Text()); m != nil {
				ids <- m[1]
			}
			t.Logf("launch: %s", sc.Text())
		}
	}()
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		_ = r.launch.Wait()
		close(exited)
		close(r.lines)
	}()
	select {
	case r.id = <-ids:
	case <-time.After(2 * time.Minute):
		t.Fatal("the bottle did not start")
	}
	r.expect(t, regexp.MustCompile(`^ready$`))

	// An operator elsewhere: serve --http, with the official SDK client.
	r.serve = r.startServe(t)
	hc := &http.Client{Transport: bearerRT{token: r.token}}
	op := sdk.NewClient(&sdk.Implementation{Name: "operator", Version: "0"}, &sdk.ClientOptions{
		LoggingMessageHandler: func(_ context.Context, req *sdk.LoggingMessageRequest) {
			if m, ok := req.Params.Data.(map[string]any); ok && m["event"] == "proposal" {
				r.notes <- fmt.Sprint(m["event"])
			}
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r.operator, err = op.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: r.serve + "/mcp", HTTPClient: hc}, nil)
	must(t, err)
	t.Cleanup(func() { r.operator.Close() })
	must(t, r.operator.SetLoggingLevel(ctx, &sdk.SetLoggingLevelParams{Level: "debug"}))

	// The agent, on its bottle's socket.
	sock := launcher.RunDirOf(e.home, r.id).SharedFile(launcher.MCPSocket)
	ahc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	ag := sdk.NewClient(&sdk.Implementation{Name: "agent", Version: "0"}, nil)
	r.agent, err = ag.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: "http://127.0.0.1/mcp", HTTPClient: ahc, DisableStandaloneSSE: true}, nil)
	must(t, err)
	t.Cleanup(func() { r.agent.Close() })
	return r
}

var serveLine = regexp.MustCompile(`MCP at (http://\S+)/mcp `)

func (r *remediation) startServe(t *testing.T) string {
	t.Helper()
	cmd := r.e.command("serve", "--http", "127.0.0.1:0")
	cmd.Env = append(cmd.Env, "BOT_BOTTLE_TOKEN="+r.token)
	stderr, err := cmd.StderrPipe()
	must(t, err)
	must(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := serveLine.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case u := <-urls:
		return u
	case <-time.After(time.Minute):
		t.Fatal("serve did not start")
	}
	return ""
}

type bearerRT struct{ token string }

func (b bearerRT) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(req)
}

// expect returns the next line of the bottle client, which must match re.
func (r *remediation) expect(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	select {
	case l, ok := <-r.lines:
		if !ok {
			t.Fatal("the bottle client ended")
		}
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("bottle client said %q, want %s", l, re)
		}
		return m
	case <-time.After(2 * time.Minute):
		t.Fatalf("no line matching %s from the bottle client", re)
	}
	return nil
}

// ask calls request_egress in the background; the result arrives on the
// returned channel when the operator has decided.
func (r *remediation) ask(t *testing.T, host, denialID string) chan review.Result {
	out := make(chan review.Result, 1)
	go func() {
		args := map[string]any{"host": host, "path_prefixes": []string{"/simple/"}, "methods": []string{"GET"},
			"justification": "the build needs " + host}
		if denialID != "" {
			args["denial_id"] = denialID
		}
		res, err := r.agent.CallTool(context.Background(), &sdk.CallToolParams{Name: "request_egress", Arguments: args})
		var got review.Result
		switch {
		case err != nil:
			got.Status, got.Notes = "error", err.Error()
		case res.IsError:
			got.Status = "error"
			for _, c := range res.Content {
				if tc, ok := c.(*sdk.TextContent); ok {
					got.Notes += tc.Text
				}
			}
		default:
			data, _ := json.Marshal(res.StructuredContent)
			_ = json.Unmarshal(data, &got)
		}
		out <- got
	}()
	return out
}

// pending returns the id of the bottle's one pending proposal for host.
func (r *remediation) pending(t *testing.T, host string) string {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		res, err := r.operator.CallTool(context.Background(), &sdk.CallToolParams{Name: "egress_proposals",
			Arguments: map[string]any{"bottle": r.id, "status": "pending"}})
		must(t, err)
		var list struct {
			Proposals []review.View `json:"proposals"`
		}
		data, _ := json.Marshal(res.StructuredContent)
		must(t, json.Unmarshal(data, &list))
		for _, p := range list.Proposals {
			if p.Host == host {
				return p.ID
			}
		}
	}
	t.Fatalf("no pending proposal for %s", host)
	return ""
}

// TestRemediationEndToEnd: denied, asked, approved three ways, retried; a
// keep-alive connection opened before every reload keeps working.
func TestRemediationEndToEnd(t *testing.T) {
	r := newRemediation(t)
	denied := regexp.MustCompile(`^denied (\S+) (\d+) (\S+)$`)
	for _, host := range hostsForRemediation {
		m := r.expect(t, denied)
		if m[1] != host || m[2] != "403" || m[3] == "" {
			t.Fatalf("before approval: %v", m)
		}
		result := r.ask(t, host, m[3])
		select {
		case <-r.notes:
		case <-time.After(time.Minute):
			t.Fatal("the operator was not notified of the proposal")
		}
		id := r.pending(t, host)
		switch host {
		case "pkg-mcp.test":
			res, err := r.operator.CallTool(context.Background(), &sdk.CallToolParams{Name: "egress_decide",
				Arguments: map[string]any{"proposal_id": id, "action": "approve", "scope": "once"}})
			if err != nil || res.IsError {
				t.Fatalf("egress_decide: %v %+v", err, res)
			}
		case "pkg-cli.test":
			if out, err := r.e.cli("review", "approve", id); err != nil || !strings.Contains(out, "approved "+id) {
				t.Fatalf("review approve: %v\n%s", err, out)
			}
		case "pkg-web.test":
			r.approveOnPage(t, id)
		}
		select {
		case got := <-result:
			if got.Status != "approved" || got.ProposalID != id {
				t.Fatalf("%s: the agent's call returned %+v", host, got)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s: the agent's call did not return", host)
		}
		must(t, os.WriteFile(filepath.Join(r.e.workdir, "approved-"+host), nil, 0o644))
		if m := r.expect(t, regexp.MustCompile(`^retry (\S+) (\d+)$`)); m[2] != "200" {
			t.Fatalf("%s after approval: %v", host, m)
		}
		if m := r.expect(t, regexp.MustCompile(`^keepalive reused=(\w+) status=(\d+)$`)); m[1] != "true" || m[2] != "200" {
			t.Fatalf("the connection opened before the reload: %v", m)
		}
	}
	r.expect(t, regexp.MustCompile(`^done$`))
	// Every decision is in the audit log, with who decided.
	audit, err := os.ReadFile(filepath.Join(r.e.home, "audit", "audit.jsonl"))
	must(t, err)
	for _, by := range []string{`"decided_by":"mcp"`, `"decided_by":"cli"`, `"decided_by":"web"`} {
		if !strings.Contains(string(audit), by) {
			t.Errorf("audit log lacks %s", by)
		}
	}
	if strings.Contains(string(audit), r.e.token) {
		t.Fatal("the audit log holds the token")
	}
}

// approveOnPage clicks Approve on serve's review page in headless Chromium.
func (r *remediation) approveOnPage(t *testing.T, id string) {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("BOT_BOTTLE_REQUIRE_DOCKER") != "" {
			t.Fatal("chromium is not installed (scripts/setup.sh installs it)")
		}
		t.Log("chromium is not installed: approving with the CLI instead")
		if out, err := r.e.cli("review", "approve", id); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, time.Minute)
	defer cancelT()
	button := `#pending [data-proposal="` + id + `"] button[value="approve"][data-scope="once"]`
	if err := chromedp.Do(ctx,
		chromedp.Navigate(r.serve+"/review/login?token="+r.token),
		chromedp.WaitVisible(button),
		reviewtest.Click(button),
		chromedp.WaitVisible(`#status.approved`),
	); err != nil {
		t.Fatalf("review page: %v", err)
	}
}

// TestRemediationLatency measures, across processes, the time from an
// agent's request_egress to the operator's notification, and from the
// operator's approval to the agent's call returning and to the bottle's
// proxy admitting the request. It logs p50 and p95; the numbers depend on
// the machine and are never asserted.
func TestRemediationLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("latency sampling is not short")
	}
	const samples = 20
	var hosts []string
	for i := 0; i < samples; i++ {
		hosts = append(hosts, fmt.Sprintf("lat%d.test", i))
	}
	r := newRemediation(t, hosts...)
	proxySock := launcher.RunDirOf(r.e.home, r.id).SharedFile(launcher.ProxySocket)
	proxied := proxyClientOn(t, proxySock, r.e)
	var notify, answer, admit []time.Duration
	var mu sync.Mutex
	for _, host := range hosts {
		start := time.Now()
		result := r.ask(t, host, "")
		select {
		case <-r.notes:
			mu.Lock()
			notify = append(notify, time.Since(start))
			mu.Unlock()
		case got := <-result:
			t.Fatalf("request_egress returned before a decision: %+v", got)
		case <-time.After(time.Minute):
			t.Fatal("no notification")
		}
		id := r.pending(t, host)
		decided := time.Now()
		res, err := r.operator.CallTool(context.Background(), &sdk.CallToolParams{Name: "egress_decide",
			Arguments: map[string]any{"proposal_id": id, "action": "approve", "scope": "once"}})
		if err != nil || res.IsError {
			t.Fatalf("decide: %v %+v", err, res)
		}
		if got := <-result; got.Status != "approved" {
			t.Fatalf("%+v", got)
		}
		answer = append(answer, time.Since(decided))
		for {
			resp, err := proxied.Get("https://" + host + "/simple/x")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Since(decided) > time.Minute {
				t.Fatalf("the proxy never admitted %s", host)
			}
		}
		admit = append(admit, time.Since(decided))
	}
	t.Logf("request_egress -> operator notification: %s", percentiles(notify))
	t.Logf("approval -> agent's call returns:         %s", percentiles(answer))
	t.Logf("approval -> proxy admits the request:     %s", percentiles(admit))
}

// proxyClientOn is an HTTPS client through a bottle's proxy socket that
// trusts the bottle's CA, as a program inside the bottle would be.
func proxyClientOn(t *testing.T, sock string, e *e2e) *http.Client {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(filepath.Dir(sock), "ca.pem"))
	must(t, err)
	pool := x509PoolFromPEM(t, caPEM)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy: http.ProxyURL(mustURL("http://bottle-proxy")),
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
		TLSClientConfig: &tls.Config{RootCAs: pool},
	}}
}

func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return fmt.Sprintf("p50 %s, p95 %s (n=%d)", at(0.50).Round(10*time.Microsecond), at(0.95).Round(10*time.Microsecond), len(s))
}

func x509PoolFromPEM(t *testing.T, pemData []byte) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		t.Fatal("no certificate in the bottle's ca.pem")
	}
	return pool
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// TestAgentCannotApproveItsOwnProposal: from inside its bottle, an agent
// tries every path to a decision: the review CLI (it finds no channel: the
// bot-bottle home is hidden), the operator's HTTP server on the host's
// loopback (no route), and the same through the proxy (IP literals are
// never routed). Its proposal stays pending.
func TestAgentCannotApproveItsOwnProposal(t *testing.T) {
	script := `echo ready
while [ ! -f attempt ]; do sleep 0.05; done
read id serve < attempt
./bot-bottle review approve "$id"; echo "cli-exit=$?"
./bottleclient dial "${serve#http://}"; echo "dial-exit=$?"
./bottleclient connect "${serve#http://}"; echo "proxy-exit=$?"
echo done
exec sleep 600`
	r := newRemediationRunning(t, []string{"sh", "-c", script})
	result := r.ask(t, "pkg-mcp.test", "")
	id := r.pending(t, "pkg-mcp.test")
	// Written whole, then renamed into place: the script waits for the
	// file to exist and must never read it half written.
	must(t, os.WriteFile(filepath.Join(r.e.workdir, "attempt.tmp"), []byte(id+" "+r.serve+"\n"), 0o644))
	must(t, os.Rename(filepath.Join(r.e.workdir, "attempt.tmp"), filepath.Join(r.e.workdir, "attempt")))
	var said []string
	for {
		l, ok := <-r.lines
		if !ok || l == "done" {
			break
		}
		said = append(said, l)
	}
	out := strings.Join(said, "\n")
	t.Logf("inside the bottle:\n%s", out)
	for _, want := range []string{"cli-exit=1", "dial-exit=1", "proxy-exit=0"} {
		if !strings.Contains(out, want) {
			t.Errorf("inside the bottle: no %q in\n%s", want, out)
		}
	}
	if !strings.Contains(out, `"reason":"ip_literal"`) {
		t.Errorf("the proxy must refuse the operator's address:\n%s", out)
	}
	if got := r.pending(t, "pkg-mcp.test"); got != id {
		t.Fatalf("pending proposal %s, want %s", got, id)
	}
	res, err := r.operator.CallTool(context.Background(), &sdk.CallToolParams{Name: "egress_decide",
		Arguments: map[string]any{"proposal_id": id, "action": "deny", "reason": "test over"}})
	if err != nil || res.IsError {
		t.Fatalf("the operator's own decision: %v %+v", err, res)
	}
	if got := <-result; got.Status != "denied" {
		t.Fatalf("%+v", got)
	}
}
