package docker_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
	"github.com/bot-bottle/bot-bottle/launcher/docker"
	"github.com/bot-bottle/bot-bottle/launcher/internal/testbin"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/moby/moby/client"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

type fixture struct {
	t       *testing.T
	backend *docker.Backend
	runtime string // runc or runsc
	bbHome  string
	workdir string
	rd      launcher.RunDir
	id      string
	owner   launcher.Owner
}

// runtimes are the container runtimes every test of a bottle from inside
// runs under: a bottle must behave the same under both.
var runtimes = []string{schemas.RuntimeRunc, schemas.RuntimeRunsc}

// forRuntimes runs test once per runtime, as subtests named for it.
func forRuntimes(t *testing.T, test func(t *testing.T, f *fixture)) {
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) { test(t, newFixture(t, rt)) })
	}
}

// requireRuntime skips when Docker lacks runtime (runsc), unless CI asked
// for everything, which then fails: scripts/setup.sh registers runsc.
func requireRuntime(t *testing.T, b *docker.Backend, runtime string) {
	t.Helper()
	if runtime == schemas.RuntimeRunc {
		return
	}
	have, err := b.Runtimes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(have, runtime) {
		if os.Getenv("BOT_BOTTLE_REQUIRE_DOCKER") != "" {
			t.Fatalf("Docker has no %s runtime (it has %v) and BOT_BOTTLE_REQUIRE_DOCKER is set: run scripts/setup.sh, which registers it", runtime, have)
		}
		t.Skipf("Docker has no %s runtime (it has %v)", runtime, have)
	}
}

// newBackend returns a docker backend on the real daemon, or skips when
// there is none and CI did not ask for Docker.
func newBackend(t *testing.T) *docker.Backend {
	t.Helper()
	bin, err := testbin.Path()
	if err != nil {
		t.Fatal(err)
	}
	b := docker.New(docker.Options{Exe: bin})
	if err := b.Check(context.Background()); err != nil {
		if os.Getenv("BOT_BOTTLE_REQUIRE_DOCKER") != "" {
			t.Fatalf("docker backend unavailable: %v", err)
		}
		t.Skipf("docker backend unavailable: %v", err)
	}
	return b
}

func newFixture(t *testing.T, runtime string) *fixture {
	t.Helper()
	b := newBackend(t)
	requireRuntime(t, b, runtime)
	base := t.TempDir()
	f := &fixture{t: t, backend: b, runtime: runtime, bbHome: filepath.Join(base, "bb"), workdir: filepath.Join(base, "work"),
		id: fmt.Sprintf("dtest-%d", time.Now().UnixNano()%1e9), owner: launcher.Self()}
	for _, d := range []string{f.bbHome, f.workdir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rd, err := launcher.CreateRunDir(f.bbHome, launcher.RunRecord{ID: f.id, Name: "dtest", Backend: "docker", Owner: f.owner})
	if err != nil {
		t.Fatal(err)
	}
	f.rd = rd
	t.Cleanup(func() { rd.Remove() })
	return f
}

func (f *fixture) serveSocket(name, body string) {
	ln, err := net.Listen("unix", f.rd.SharedFile(name))
	if err != nil {
		f.t.Fatal(err)
	}
	os.Chmod(f.rd.SharedFile(name), 0o666)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", body, r.Method, r.URL)
	})}
	go srv.Serve(ln)
	f.t.Cleanup(func() { srv.Close() })
}

func (f *fixture) start(out *bytes.Buffer, command ...string) launcher.Process {
	f.t.Helper()
	return f.startWith(out, nil, command...)
}

// startWith starts command with the fixture's spec, changed by edit.
func (f *fixture) startWith(out *bytes.Buffer, edit func(*launcher.Spec), command ...string) launcher.Process {
	f.t.Helper()
	spec := &launcher.Spec{
		BottleID: f.id, Home: f.bbHome, Owner: f.owner, RunDir: f.rd, Workdir: f.workdir,
		Init: bottleinit.Config{
			Command: command,
			Env:     []string{"http_proxy=http://127.0.0.1:3128", "BOT_BOTTLE_ID=" + f.id},
			Dir:     f.workdir,
			Forward: []bottleinit.Forward{
				{Port: 3128, Socket: launcher.InBottle(launcher.ProxySocket)},
				{Port: 3129, Socket: launcher.InBottle(launcher.MCPSocket)},
			},
		},
		Stdio:   launcher.Stdio{Out: out, Err: out},
		Runtime: f.runtime,
	}
	if edit != nil {
		edit(spec)
	}
	p, err := f.backend.Start(context.Background(), spec)
	if err != nil {
		f.t.Fatalf("start: %v", err)
	}
	f.t.Cleanup(func() {
		p.Stop(time.Second)
		p.Wait()
		p.Release(context.Background())
	})
	return p
}

func TestContainerRunsIsolated(t *testing.T) { forRuntimes(t, testContainerRunsIsolated) }

func testContainerRunsIsolated(t *testing.T, f *fixture) {
	f.serveSocket(launcher.ProxySocket, "via-proxy")
	script := `echo "id=$BOT_BOTTLE_ID home=$HOME pwd=$(pwd)"
echo "== links"; ip -o link
echo "== route"; cat /proc/net/route
echo "== proxy"; wget -q -O - http://allowed.test/x
echo; echo "== end"; exit 5`
	var out bytes.Buffer
	p := f.start(&out, "sh", "-c", script)
	code, err := p.Wait()
	t.Logf("exit %d err %v\n%s", code, err, out.String())
	if code != 5 {
		t.Errorf("exit code %d, want 5", code)
	}
	s := out.String()
	if !strings.Contains(s, fmt.Sprintf("id=%s home=/root pwd=%s", f.id, f.workdir)) {
		t.Errorf("env or workdir wrong")
	}
	_, links, _ := strings.Cut(s, "== links\n")
	links, _, _ = strings.Cut(links, "== route")
	if strings.Count(strings.TrimSpace(links), "\n") != 0 || !strings.Contains(links, "lo:") {
		t.Errorf("want lo only, got %q", links)
	}
	if !strings.Contains(s, "via-proxy GET http://allowed.test/x") {
		t.Errorf("request did not reach the proxy socket")
	}
	if err := p.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	cli, _ := f.backend.Client()
	if _, err := cli.ContainerInspect(context.Background(), p.ID(), client.ContainerInspectOptions{}); err == nil {
		t.Errorf("container %s still exists after Release", p.ID())
	}
}

func TestLeftoversOfDeadOwner(t *testing.T) {
	f := newFixture(t, schemas.RuntimeRunc) // finding and removing is the Engine's, whatever the runtime
	// Pretend the bottle belongs to an owner that has died: a pid that
	// exists with another start time reads as dead.
	f.owner = launcher.Owner{PID: os.Getpid(), Start: 1}
	var out bytes.Buffer
	p := f.start(&out, "sleep", "300")
	alive := func(o launcher.Owner) bool { return o.Alive() }
	left, err := f.backend.Leftovers(context.Background(), f.bbHome, alive)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].ID != p.ID() || left[0].BottleID != f.id {
		t.Fatalf("leftovers %+v, want the container %s", left, p.ID())
	}
	if err := f.backend.RemoveLeftover(context.Background(), left[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Logf("wait after removal: %v", err)
	}
	left, err = f.backend.Leftovers(context.Background(), f.bbHome, alive)
	if err != nil || len(left) != 0 {
		t.Fatalf("after removal: %+v %v", left, err)
	}
}
