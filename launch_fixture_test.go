package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/docker"
	"github.com/bot-bottle/bot-bottle/launcher/netns"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/moby/moby/client"
)

// e2e is one end-to-end setup: a bot-bottle home with a bottle "demo"
// whose only route is allowed.test (Bearer token from TEST_TOKEN), a host
// home holding secrets the bottle must not see, a workdir, and a loopback
// TLS upstream that the proxy reaches for allowed.test through --resolve.
type e2e struct {
	t        testing.TB
	bin      string
	client   string // bottleclient, copied into the workdir
	backend  string // --backend
	runtime  string // the runtime its bottles ask for (docker), or ""
	base     string
	home     string // BOT_BOTTLE_HOME
	hostHome string // HOME
	workdir  string
	token    string
	caFile   string
	upstream *httptest.Server
	authOK   atomic.Int32 // requests upstream saw with the injected token
	env      []string
}

// Secrets in the host home; none may be readable from a bottle.
const (
	hostCodexSecret = "host-codex-secret-5f1d2a"
	hostRCSecret    = "host-rc-secret-9c3b7e"
)

// newE2E sets up a bottle on variant, an entry of backends.
func newE2E(t testing.TB, variant string) *e2e {
	t.Helper()
	e := &e2e{t: t, bin: botBottle(t)}
	e.backend, e.runtime = backendOf(variant)
	requireBackend(t, variant, e.bin)
	// A short base keeps socket paths under the 107-byte limit.
	base, err := os.MkdirTemp("", "bbe2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	e.base = base
	e.home, e.hostHome, e.workdir = filepath.Join(base, "bb"), filepath.Join(base, "home"), filepath.Join(base, "work")
	for _, d := range []string{filepath.Join(e.home, "bottles"), filepath.Join(e.hostHome, ".codex"), e.workdir} {
		must(t, os.MkdirAll(d, 0o755))
	}
	must(t, os.WriteFile(filepath.Join(e.hostHome, ".codex", "auth.json"), []byte(`{"tokens":{"access_token":"`+hostCodexSecret+`"}}`), 0o600))
	must(t, os.WriteFile(filepath.Join(e.hostHome, ".bashrc"), []byte("export SECRET="+hostRCSecret+"\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(e.home, "bottles", "demo.yaml"), []byte(runtimeLine(e.runtime)+`env: {GREETING: hello}
egress:
  routes:
    - host: allowed.test
      auth: { scheme: Bearer, token_ref: TEST_TOKEN }
`), 0o644))
	e.client = filepath.Join(e.workdir, "bottleclient")
	data, err := os.ReadFile(bottleClient(t))
	must(t, err)
	must(t, os.WriteFile(e.client, data, 0o755))
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	e.token = "tok-" + hex.EncodeToString(raw[:])
	leaf, caPEM := upstreamPKI(t, "allowed.test")
	e.upstream = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := "no"
		if r.Header.Get("Authorization") == "Bearer "+e.token {
			e.authOK.Add(1)
			auth = "yes"
		}
		if n, ok := strings.CutPrefix(r.URL.Path, "/bytes/"); ok {
			serveBytes(w, n) // a body of that many bytes, for the throughput benchmark
			return
		}
		// Never echo the header: the bottle would then see the token.
		fmt.Fprintf(w, "upstream-ok path=%s auth=%s", r.URL.Path, auth)
	}))
	e.upstream.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	e.upstream.StartTLS()
	t.Cleanup(e.upstream.Close)
	e.caFile = filepath.Join(base, "upstream-ca.pem")
	must(t, os.WriteFile(e.caFile, caPEM, 0o644))
	e.env = []string{"HOME=" + e.hostHome, "BOT_BOTTLE_HOME=" + e.home, "PATH=" + os.Getenv("PATH"), "TEST_TOKEN=" + e.token}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		e.env = append(e.env, "DOCKER_HOST="+h)
	}
	t.Cleanup(func() { e.cli("cleanup") })
	return e
}

// requireBackend skips when the backend (or, for docker, the runtime)
// cannot work here, unless CI asked for everything
// (BOT_BOTTLE_REQUIRE_DOCKER), where it fails instead: scripts/setup.sh
// gives Docker runsc.
func requireBackend(t testing.TB, variant, bin string) {
	t.Helper()
	name, runtime := backendOf(variant)
	var be launcher.Backend
	switch name {
	case netns.Name:
		be = netns.New(bin)
	case docker.Name:
		be = docker.New(docker.Options{Exe: bin, Host: os.Getenv("DOCKER_HOST")})
	default:
		t.Fatalf("unknown backend %q", name)
	}
	err := be.Check(context.Background())
	if err == nil && runtime == schemas.RuntimeRunsc {
		_, err = be.(launcher.RuntimeChooser).ChooseRuntime(context.Background(), runtime)
	}
	if err != nil {
		if os.Getenv("BOT_BOTTLE_REQUIRE_DOCKER") != "" {
			t.Fatalf("backend %s unavailable and BOT_BOTTLE_REQUIRE_DOCKER is set: %v", variant, err)
		}
		t.Skipf("backend %s unavailable: %v", variant, err)
	}
}

// runtimeLine is the manifest line that asks for runtime, if any.
func runtimeLine(runtime string) string {
	if runtime == "" {
		return ""
	}
	return "runtime: " + runtime + "\n"
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// launchArgs is `bot-bottle launch` of demo on the fixture's backend.
func (e *e2e) launchArgs(command ...string) []string {
	args := []string{"launch", "--backend", e.backend, "--workdir", e.workdir,
		"--resolve", "allowed.test:443=" + e.upstream.Listener.Addr().String(), "--upstream-ca", e.caFile, "demo", "--"}
	return append(args, command...)
}

func (e *e2e) command(args ...string) *exec.Cmd {
	cmd := exec.Command(e.bin, args...)
	cmd.Env = e.env
	cmd.Dir = e.workdir
	return cmd
}

// run launches command in a bottle and waits for it.
func (e *e2e) run(command ...string) (code int, stdout, stderr string) {
	e.t.Helper()
	cmd := e.command(e.launchArgs(command...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			e.t.Fatalf("launch: %v", err)
		}
		code = ee.ExitCode()
	}
	return code, out.String(), errb.String()
}

// cli runs another bot-bottle command against the fixture's home.
func (e *e2e) cli(args ...string) (string, error) {
	out, err := e.command(args...).CombinedOutput()
	return string(out), err
}

var idLine = regexp.MustCompile(`bottle (\S+) is running`)

// running is a launch in the background.
type running struct {
	cmd    *exec.Cmd
	id     string
	stdout *bufio.Reader
	exited chan error
	stderr lockedBuffer // everything launch printed on stderr, whole once exited is
}

// lockedBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) WriteLine(s string) {
	b.mu.Lock()
	b.buf.WriteString(s + "\n")
	b.mu.Unlock()
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start launches command in the background and returns once the command
// has printed "ready" (its first line).
func (e *e2e) start(command ...string) *running {
	e.t.Helper()
	cmd := e.command(e.launchArgs(command...)...)
	stdout, err := cmd.StdoutPipe()
	must(e.t, err)
	stderr, err := cmd.StderrPipe()
	must(e.t, err)
	must(e.t, cmd.Start())
	r := &running{cmd: cmd, stdout: bufio.NewReader(stdout), exited: make(chan error, 1)}
	e.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-r.exited
	})
	ids := make(chan string, 1)
	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if m := idLine.FindStringSubmatch(sc.Text()); m != nil && !sent {
				ids <- m[1]
				sent = true
			}
			r.stderr.WriteLine(sc.Text())
			e.t.Logf("launch stderr: %s", sc.Text())
		}
		if !sent {
			close(ids)
		}
	}()
	lines := make(chan string, 1)
	go func() {
		line, _ := r.stdout.ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, r.stdout)
		<-stderrDone // Wait closes the pipes: read them to the end first
		r.exited <- cmd.Wait()
	}()
	timeout := time.After(2 * time.Minute)
	select {
	case id, ok := <-ids:
		if !ok {
			e.t.Fatal("launch ended without announcing a bottle")
		}
		r.id = id
	case <-timeout:
		e.t.Fatal("timed out waiting for the bottle id")
	}
	select {
	case l := <-lines:
		if strings.TrimSpace(l) != "ready" {
			e.t.Fatalf("first line %q, want ready", l)
		}
	case <-timeout:
		e.t.Fatal("timed out waiting for the command to start")
	}
	return r
}

// wait returns the launch's exit code.
func (r *running) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-r.exited:
		r.exited <- err // for the cleanup
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("launch: %v", err)
		}
		return 0
	case <-time.After(2 * time.Minute):
		t.Fatal("launch did not exit")
	}
	return -1
}

// sections splits a script's output at "=== name" lines.
func sections(out string) map[string]string {
	m := map[string]string{}
	name := ""
	for _, line := range strings.SplitAfter(out, "\n") {
		if n, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "=== "); ok {
			name = n
			continue
		}
		m[name] += line
	}
	return m
}

// hostListener is a TCP server on the host's loopback that a bottle must
// not reach.
func hostListener(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("HTTP/1.0 200 OK\r\n\r\nreached-the-host\n"))
			c.Close()
		}
	}()
	return ln
}

// assertNothingLeft checks that bottle id left no process, socket, run
// folder, container or network behind, and that the registry has it ended.
func (e *e2e) assertNothingLeft(id string) {
	e.t.Helper()
	if entries, err := os.ReadDir(launcher.RunRoot(e.home)); err == nil && len(entries) > 0 {
		var names []string
		for _, en := range entries {
			names = append(names, en.Name())
		}
		e.t.Errorf("run folders left: %v", names)
	}
	if procs := processesMentioning(e.home); len(procs) > 0 {
		e.t.Errorf("processes left: %v", procs)
	}
	if cgs := cgroupsNamed(id); len(cgs) > 0 {
		e.t.Errorf("cgroups left: %v", cgs)
	}
	if e.backend == docker.Name {
		cli, err := client.New(client.WithAPIVersionNegotiation(), client.WithHostFromEnv())
		must(e.t, err)
		defer cli.Close()
		f := client.Filters{}.Add("label", docker.LabelHome+"="+e.home)
		cs, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f})
		must(e.t, err)
		if len(cs.Items) > 0 {
			e.t.Errorf("%d containers left", len(cs.Items))
		}
		ns, err := cli.NetworkList(context.Background(), client.NetworkListOptions{Filters: f})
		must(e.t, err)
		if len(ns.Items) > 0 {
			e.t.Errorf("%d networks left", len(ns.Items))
		}
	}
	out, err := e.cli("ps")
	if err != nil || strings.Contains(out, id) {
		e.t.Errorf("ps still lists %s (err %v):\n%s", id, err, out)
	}
}

// processesMentioning lists host processes whose command line mentions s
// (a bottle init's --config names its run folder, under the home).
func processesMentioning(s string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		cmdline := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cmdline, s) && !strings.Contains(cmdline, " ps") {
			out = append(out, filepath.Base(filepath.Dir(p))+": "+cmdline)
		}
	}
	return out
}
