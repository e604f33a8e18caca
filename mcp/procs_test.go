package mcp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/mcp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// syncBuffer is a bytes.Buffer safe for a process writing and a test
// reading.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var runningLine = regexp.MustCompile(`bottle (\S+) is running`)

// launched is a `bot-bottle launch` process: another owner than the
// process under test.
type launched struct {
	cmd    *exec.Cmd
	id     string
	stdin  io.WriteCloser
	stderr *syncBuffer
	exited chan struct{} // closed when the process has ended
}

// launchProcess runs `bot-bottle launch demo -- command...` on the local
// backend in its own process and returns once the bottle runs.
func launchProcess(t testing.TB, h *testHome, command ...string) *launched {
	t.Helper()
	requireLocal(t)
	args := append([]string{"launch", "--backend", "local", "--workdir", h.workdir, "demo", "--"}, command...)
	cmd := exec.Command(bin, args...)
	cmd.Env = h.environ()
	cmd.Dir = h.workdir
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stderr, err := cmd.StderrPipe()
	must(t, err)
	cmd.Stdout = io.Discard
	must(t, cmd.Start())
	l := &launched{cmd: cmd, stdin: stdin, stderr: &syncBuffer{}, exited: make(chan struct{})}
	ids := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			l.stderr.Write([]byte(sc.Text() + "\n"))
			if m := runningLine.FindStringSubmatch(sc.Text()); m != nil && !sent {
				ids <- m[1]
				sent = true
			}
		}
		if !sent {
			close(ids)
		}
		_ = cmd.Wait()
		close(l.exited)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-l.exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-l.exited
		}
	})
	select {
	case id, ok := <-ids:
		if !ok {
			t.Fatalf("launch ended without a bottle:\n%s", l.stderr.String())
		}
		l.id = id
	case <-time.After(2 * time.Minute):
		t.Fatal("timed out waiting for the launch")
	}
	return l
}

// served is a `bot-bottle serve --http` process.
type served struct {
	base   string // http://127.0.0.1:port
	stderr *syncBuffer
}

var servingLine = regexp.MustCompile(`MCP at (http://\S+)/mcp `)

func serveHTTP(t testing.TB, h *testHome, extraEnv []string, args ...string) *served {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--http", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(h.environ(), extraEnv...)
	cmd.Dir = h.workdir
	stderr, err := cmd.StderrPipe()
	must(t, err)
	must(t, cmd.Start())
	s := &served{stderr: &syncBuffer{}}
	exited := make(chan struct{})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			s.stderr.Write([]byte(sc.Text() + "\n"))
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil && !sent {
				urls <- m[1]
				sent = true
			}
		}
		if !sent {
			close(urls)
		}
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		h.noSecret("serve's stderr", s.stderr.String())
	})
	select {
	case u, ok := <-urls:
		if !ok {
			t.Fatalf("serve ended:\n%s", s.stderr.String())
		}
		s.base = u
	case <-time.After(time.Minute):
		t.Fatal("timed out waiting for serve")
	}
	return s
}

// bearer adds a bearer token to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

func bearerClient(token string) *http.Client {
	return &http.Client{Transport: bearer{token: token, next: http.DefaultTransport}}
}

// sdkNotes collects what the official SDK client is told.
type sdkNotes struct {
	mu      sync.Mutex
	logs    []map[string]any
	updated []string
	ch      chan struct{}
}

func newSDKNotes() *sdkNotes { return &sdkNotes{ch: make(chan struct{}, 1)} }

func (n *sdkNotes) poke() {
	select {
	case n.ch <- struct{}{}:
	default:
	}
}

func (n *sdkNotes) options() *sdk.ClientOptions {
	return &sdk.ClientOptions{
		LoggingMessageHandler: func(_ context.Context, r *sdk.LoggingMessageRequest) {
			data, _ := json.Marshal(r.Params.Data)
			var m map[string]any
			_ = json.Unmarshal(data, &m)
			m["level"] = string(r.Params.Level)
			n.mu.Lock()
			n.logs = append(n.logs, m)
			n.mu.Unlock()
			n.poke()
		},
		ResourceUpdatedHandler: func(_ context.Context, r *sdk.ResourceUpdatedNotificationRequest) {
			n.mu.Lock()
			n.updated = append(n.updated, r.Params.URI)
			n.mu.Unlock()
			n.poke()
		},
	}
}

// waitLog returns the first log notification about event for bottle.
func (n *sdkNotes) waitLog(t testing.TB, event, bottle string) map[string]any {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		n.mu.Lock()
		for _, m := range n.logs {
			if m["event"] != event {
				continue
			}
			inner, _ := m[event].(map[string]any)
			if inner["bottle"] == bottle {
				n.mu.Unlock()
				return m
			}
		}
		n.mu.Unlock()
		select {
		case <-n.ch:
		case <-deadline:
			t.Fatalf("no %s log notification for %s", event, bottle)
		}
	}
}

func (n *sdkNotes) waitUpdated(t *testing.T, uri string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		n.mu.Lock()
		for _, u := range n.updated {
			if u == uri {
				n.mu.Unlock()
				return
			}
		}
		n.mu.Unlock()
		select {
		case <-n.ch:
		case <-deadline:
			t.Fatalf("no resources/updated for %s", uri)
		}
	}
}

// subscribeAll subscribes a session to the review resources and asks for
// info-level logs.
func subscribeAll(t testing.TB, cs *sdk.ClientSession) {
	t.Helper()
	ctx := context.Background()
	must(t, cs.Subscribe(ctx, &sdk.SubscribeParams{URI: mcp.DenialsURI}))
	must(t, cs.Subscribe(ctx, &sdk.SubscribeParams{URI: mcp.ProposalsURI}))
	must(t, cs.SetLoggingLevel(ctx, &sdk.SetLoggingLevelParams{Level: "info"}))
}

// toolNames lists a session's tools.
func toolNames(t *testing.T, cs *sdk.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	must(t, err)
	var out []string
	for _, tl := range res.Tools {
		out = append(out, tl.Name)
	}
	return out
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
