package netns_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
	"github.com/bot-bottle/bot-bottle/launcher/internal/testbin"
	"github.com/bot-bottle/bot-bottle/launcher/netns"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// fixture is one bottle's host side: homes with secrets to hide, a workdir,
// a run folder whose proxy socket answers with a fixed HTTP reply.
type fixture struct {
	t        testing.TB
	backend  *netns.Backend
	hostHome string
	bbHome   string
	workdir  string
	rd       launcher.RunDir
	id       string
	// agentHome, when set, is the kept agent home the bottle mounts as
	// its HOME.
	agentHome string
	// hide are the host paths the manifest hides.
	hide []string
}

const proxyPort, mcpPort = 3128, 3129

// newFixture starts its bottles through a spawner, as serve does, so every
// boundary test checks the bottles serve starts; newDirectFixture starts
// them from the test process itself, as launch does.
func newFixture(t *testing.T) *fixture { return newFixtureMode(t, true) }

func newDirectFixture(t *testing.T) *fixture { return newFixtureMode(t, false) }

func newFixtureMode(t testing.TB, spawner bool) *fixture {
	t.Helper()
	bin, err := testbin.Path()
	if err != nil {
		t.Fatal(err)
	}
	b := netns.New(bin)
	if spawner {
		b = b.WithSpawner()
		t.Cleanup(func() { netns.StopSpawner(b) })
	}
	if err := b.Check(context.Background()); err != nil {
		if os.Getenv("BOT_BOTTLE_REQUIRE_DOCKER") != "" {
			t.Fatalf("local backend unavailable: %v", err)
		}
		t.Skipf("local backend unavailable: %v", err)
	}
	base := t.TempDir()
	f := &fixture{t: t, backend: b, hostHome: filepath.Join(base, "home"), bbHome: filepath.Join(base, "bb"),
		workdir: filepath.Join(base, "work"), id: "test-abcdef"}
	for _, d := range []string{f.hostHome, f.bbHome, f.workdir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rd, err := launcher.CreateRunDir(f.bbHome, launcher.RunRecord{ID: f.id, Name: "test", Backend: "local", Owner: launcher.Self()})
	if err != nil {
		t.Fatal(err)
	}
	f.rd = rd
	t.Cleanup(func() { rd.Remove() })
	f.serveSocket(launcher.ProxySocket, "via-proxy")
	f.serveSocket(launcher.MCPSocket, "via-mcp")
	return f
}

// serveSocket answers every HTTP request on the shared socket name with
// body, so a test can see a request arrive through the forwarder.
func (f *fixture) serveSocket(name, body string) {
	ln, err := net.Listen("unix", f.rd.SharedFile(name))
	if err != nil {
		f.t.Fatal(err)
	}
	// As the launcher does: the bottle's root may be another user.
	if err := os.Chmod(f.rd.SharedFile(name), 0o666); err != nil {
		f.t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", body, r.Method, r.URL)
	})}
	go srv.Serve(ln)
	f.t.Cleanup(func() { srv.Close() })
}

// run starts command in a bottle and returns its exit code and output.
func (f *fixture) run(readonly bool, command ...string) (int, string) {
	f.t.Helper()
	var out bytes.Buffer
	p := f.start(readonly, &out, command...)
	code, err := p.Wait()
	if err != nil {
		f.t.Fatalf("wait: %v", err)
	}
	return code, out.String()
}

func (f *fixture) start(readonly bool, out io.Writer, command ...string) launcher.Process {
	f.t.Helper()
	spec := f.spec(readonly, command...)
	spec.Stdio = launcher.Stdio{Out: out, Err: out}
	p, err := f.backend.Start(context.Background(), spec)
	if err != nil {
		f.t.Fatalf("start: %v", err)
	}
	f.t.Cleanup(func() { p.Stop(time.Second); p.Wait() })
	return p
}

// spec is the launch of command in the fixture's bottle, without stdio.
func (f *fixture) spec(readonly bool, command ...string) *launcher.Spec {
	return &launcher.Spec{
		BottleID: f.id, Home: f.bbHome, Owner: launcher.Self(), RunDir: f.rd, Workdir: f.workdir,
		ReadonlyRoot: readonly, HostHome: f.hostHome, HostPath: os.Getenv("PATH"), AgentHome: f.agentHome, Hide: f.hide,
		Init: bottleinit.Config{
			Command: command,
			Env:     []string{"HTTP_PROXY=http://127.0.0.1:3128", "http_proxy=http://127.0.0.1:3128", "BOT_BOTTLE_ID=" + f.id},
			Dir:     f.workdir,
			Forward: []bottleinit.Forward{
				{Port: proxyPort, Socket: launcher.InBottle(launcher.ProxySocket)},
				{Port: mcpPort, Socket: launcher.InBottle(launcher.MCPSocket)},
			},
		},
	}
}

func TestExitCodeAndEnv(t *testing.T) {
	f := newFixture(t)
	code, out := f.run(false, "sh", "-c", `echo "id=$BOT_BOTTLE_ID home=$HOME pwd=$(pwd)"; env | sort; exit 7`)
	if code != 7 {
		t.Fatalf("exit code %d, want 7; output:\n%s", code, out)
	}
	want := fmt.Sprintf("id=%s home=%s pwd=%s", f.id, f.hostHome, f.workdir)
	if !strings.Contains(out, want) {
		t.Fatalf("output lacks %q:\n%s", want, out)
	}
	t.Logf("%s", out)
}

func TestNetworkIsLoopbackOnly(t *testing.T) {
	f := newFixture(t)
	// A server on the host's loopback that the bottle must not reach.
	host, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	go func() {
		for {
			c, err := host.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("HTTP/1.0 200 OK\r\n\r\nreached-host\n"))
			c.Close()
		}
	}()
	script := `
echo "== links"; ip -o link
echo "== route"; cat /proc/net/route
echo "== route6"; cat /proc/net/ipv6_route
echo "== proxy"; curl -sS --max-time 10 http://allowed.test/x
echo; echo "== mcp"; curl -sS --max-time 10 --noproxy '*' http://127.0.0.1:3129/mcp
echo; echo "== host"; curl -sS --max-time 5 --noproxy '*' http://` + host.Addr().String() + `/ ; echo "curl-exit=$?"
`
	code, out := f.run(false, "sh", "-c", script)
	t.Logf("exit %d\n%s", code, out)
	section := func(name string) string {
		_, rest, _ := strings.Cut(out, "== "+name+"\n")
		s, _, _ := strings.Cut(rest, "\n== ")
		return s
	}
	links := strings.TrimSpace(section("links"))
	if strings.Count(links, "\n") != 0 || !strings.Contains(links, "lo:") || !strings.Contains(links, "UP") {
		t.Errorf("links: want only lo, up; got:\n%s", links)
	}
	if lines := strings.Split(strings.TrimSpace(section("route")), "\n"); len(lines) != 1 {
		t.Errorf("IPv4 routes: want the header only, got:\n%s", section("route"))
	}
	for _, l := range strings.Split(strings.TrimSpace(section("route6")), "\n") {
		// The kernel lists lo's own addresses and the unreachable default;
		// any route through another device would be a way out.
		if l != "" && !strings.HasSuffix(strings.TrimSpace(l), " lo") {
			t.Errorf("IPv6 route through a device other than lo: %s", l)
		}
	}
	if s := section("proxy"); !strings.Contains(s, "via-proxy GET http://allowed.test/x") {
		t.Errorf("request through HTTP_PROXY did not reach the proxy socket: %q", s)
	}
	if s := section("mcp"); !strings.Contains(s, "via-mcp GET /mcp") {
		t.Errorf("request to the agent-surface port did not reach the MCP socket: %q", s)
	}
	if s := section("host"); strings.Contains(s, "reached-host") || !strings.Contains(s, "curl-exit=7") {
		t.Errorf("the host's loopback was reachable from the bottle (want curl exit 7, connection refused): %q", s)
	}
}

func TestHostSecretsHidden(t *testing.T) {
	f := newFixture(t)
	secrets := map[string]string{
		filepath.Join(f.hostHome, ".codex", "auth.json"): "host-codex-secret",
		filepath.Join(f.hostHome, ".bashrc"):             "host-rc-secret",
		filepath.Join(f.bbHome, "state.db"):              "host-state-secret",
	}
	for p, v := range secrets {
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// World-readable files where hosts keep data, mounts, mail and logs:
	// readable by any user, so by the bottle unless the folder is hidden.
	for _, dir := range []string{"/srv", "/mnt", "/media", "/var/backups", "/var/log", "/var/mail", "/var/spool"} {
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		d, err := os.MkdirTemp(dir, "bot-bottle-hidden-")
		if errors.Is(err, fs.ErrPermission) {
			continue // the unprivileged run: root's run plants these
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		os.Chmod(d, 0o755)
		p := filepath.Join(d, "data")
		if err := os.WriteFile(p, []byte("world-readable-in-"+dir), 0o644); err != nil {
			t.Fatal(err)
		}
		secrets[p] = "world-readable-in-" + dir
	}
	os.WriteFile(filepath.Join(f.workdir, "README"), []byte("work-visible"), 0o644)
	var script strings.Builder
	script.WriteString("cat README; echo; ls -a " + f.hostHome + "; ")
	for p := range secrets {
		script.WriteString("cat " + p + " 2>/dev/null; ")
	}
	// Attacks: as root of its own namespace, try to uncover what the
	// tmpfs mounts hide.
	script.WriteString("cat /proc/self/mountinfo; busybox umount /tmp 2>&1; busybox umount -l /tmp 2>&1; ")
	script.WriteString("unshare -Urm sh -c 'umount -l " + f.hostHome + " && cat " + filepath.Join(f.hostHome, ".bashrc") + "' 2>&1; ")
	script.WriteString("cat /proc/1/root" + filepath.Join(f.hostHome, ".bashrc") + " 2>&1; ")
	script.WriteString("ls /run; ls -la /var/run/docker.sock 2>&1; ")
	// Around the hidden folders: the raw disks, and root-only host files.
	for _, dev := range blockDevices() {
		script.WriteString("echo disk " + dev + " $(head -c 4096 " + dev + " 2>/dev/null | wc -c) bytes; ")
	}
	script.WriteString("echo shadow $(cat /etc/shadow 2>/dev/null | wc -c) bytes; ")
	script.WriteString("echo devs $(ls /dev | tr '\\n' ' '); echo done")
	code, out := f.run(false, "sh", "-c", script.String())
	t.Logf("exit %d\n%s", code, out)
	if !strings.Contains(out, "work-visible") {
		t.Errorf("workdir not visible in the bottle")
	}
	for _, v := range secrets {
		if strings.Contains(out, v) {
			t.Errorf("host secret %q readable from the bottle", v)
		}
	}
	if !strings.Contains(out, "done") {
		t.Errorf("script did not finish")
	}
	for _, dev := range blockDevices() {
		if !strings.Contains(out, "disk "+dev+" 0 bytes") {
			t.Errorf("the bottle could read the raw disk %s", dev)
		}
	}
	// Only harmless devices: no disks, no /dev/kmsg, /dev/kvm, /dev/net/tun.
	if !strings.Contains(out, "devs fd full null ptmx pts random shm stderr stdin stdout tty urandom zero\n") {
		t.Errorf("the bottle's /dev holds more than the harmless devices")
	}
	if !strings.Contains(out, "shadow 0 bytes") {
		t.Errorf("the bottle could read /etc/shadow")
	}
}

// blockDevices lists the host's disks, which a bottle must not be able to
// open.
func blockDevices() []string {
	var out []string
	for _, g := range []string{"/dev/sd?", "/dev/vd?", "/dev/xvd?", "/dev/nvme?n?"} {
		m, _ := filepath.Glob(g)
		out = append(out, m...)
	}
	return out
}

func TestReadonlyRoot(t *testing.T) {
	f := newFixture(t)
	target := filepath.Join("/var", fmt.Sprintf("bot-bottle-ro-%d", time.Now().UnixNano()))
	defer os.Remove(target)
	code, out := f.run(true, "sh", "-c", "touch "+target+" 2>&1; echo rw > work.txt && cat work.txt; echo home > $HOME/x && cat $HOME/x")
	t.Logf("exit %d\n%s", code, out)
	if _, err := os.Stat(target); err == nil {
		t.Errorf("--readonly-root: the bottle wrote %s on the host", target)
	}
	if !strings.Contains(out, "Read-only file system") {
		t.Errorf("expected a read-only error, got %q", out)
	}
	if !strings.Contains(out, "rw\n") || !strings.Contains(out, "home\n") {
		t.Errorf("workdir and home must stay writable: %q", out)
	}
	if b, err := os.ReadFile(filepath.Join(f.workdir, "work.txt")); err != nil || string(b) != "rw\n" {
		t.Errorf("workdir write did not reach the host: %q %v", b, err)
	}
}

func TestStopForwardsSIGTERM(t *testing.T) {
	f := newFixture(t)
	var out syncBuffer
	p := f.start(false, &out, "sh", "-c", `trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.05; done`)
	waitFor(t, &out, "ready")
	p.Stop(10 * time.Second)
	code, err := p.Wait()
	if err != nil || code != 3 || !strings.Contains(out.String(), "got-term") {
		t.Fatalf("stop: code %d err %v output %q; want the command's trap to run and exit 3", code, err, out.String())
	}
}

func TestStopKillsAfterGrace(t *testing.T) {
	f := newFixture(t)
	var out syncBuffer
	p := f.start(false, &out, "sh", "-c", `trap '' TERM; echo ready; while :; do sleep 0.05; done`)
	waitFor(t, &out, "ready")
	p.Stop(200 * time.Millisecond)
	code, err := p.Wait()
	if err != nil || code != 128+9 {
		t.Fatalf("stop: code %d err %v; want 137 (SIGKILL after grace)", code, err)
	}
}

func TestCommandNotFound(t *testing.T) {
	f := newFixture(t)
	code, out := f.run(false, "no-such-command-xyz")
	if code != bottleinit.ExitNotFound || !strings.Contains(out, "no-such-command-xyz") {
		t.Fatalf("code %d out %q; want 127 naming the command", code, out)
	}
}
