package egressproxy

import (
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/internal/testpki"
	"github.com/bot-bottle/bot-bottle/internal/testreq"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// writeCA writes the proxy's CA certificate where a client can read it.
func (f *fixture) writeCA(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, f.ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C"}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestCurl(t *testing.T) {
	f := newFixture(t, defaultRoutes)
	ca := f.writeCA(t)
	curl := func(args ...string) (string, error) {
		return run(t, "", nil, "curl", append([]string{"-sS", "--max-time", "30", "--proxy", f.proxyURL.String(), "--cacert", ca}, args...)...)
	}
	out, err := curl("https://api.allowed.test/repos/myorg/x")
	if err != nil || !strings.HasPrefix(out, "ok GET /repos/myorg/x") {
		t.Fatalf("allowed: %v %s", err, out)
	}
	out, err = curl("-w", "\n%{http_code}", "https://api.allowed.test/secret?x=1")
	if err != nil || !strings.HasSuffix(out, "\n403") || !strings.Contains(out, `"reason":"path_not_allowed"`) || !strings.Contains(out, `"path":"/secret?[redacted]"`) {
		t.Fatalf("denied path: %v %s", err, out)
	}
	out, err = curl("--path-as-is", "https://api.allowed.test/repos/myorg/../secret")
	if err != nil || !strings.Contains(out, `"reason":"path_not_normalized"`) {
		t.Fatalf("dot-dot: %v %s", err, out)
	}
	out, err = curl("-H", "Authorization: Bearer mine", "https://open.allowed.test/x")
	if err != nil || !strings.Contains(out, `auth=""`) {
		t.Fatalf("agent Authorization: %v %s", err, out)
	}
	out, err = curl("-w", "\n%{http_code}", "https://evil.test/")
	if err != nil || !strings.HasSuffix(out, "\n403") || !strings.Contains(out, `"reason":"host_not_allowed"`) {
		t.Fatalf("unknown host: %v %s", err, out)
	}
	out, err = curl("-w", "\n%{http_code}", "http://plain.allowed.test/p")
	if err != nil || !strings.HasSuffix(out, "\n200") {
		t.Fatalf("plain http: %v %s", err, out)
	}
	out, err = curl("--data-binary", "t="+testToken, "https://open.allowed.test/x")
	if err != nil || !strings.Contains(out, `"reason":"token_in_body"`) || strings.Contains(out, testToken) {
		t.Fatalf("token in body: %v", err)
	}
}

// gitServer serves bare repositories under root with git http-backend,
// receive-pack enabled: if a push is refused, the proxy refused it.
func gitServer(t *testing.T, root string) http.Handler {
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	return &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Root: "/git",
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
}

func TestGitCloneAllowedPushRefused(t *testing.T) {
	root := t.TempDir()
	work := t.TempDir()
	env := []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t"}
	mustRun := func(dir string, args ...string) {
		t.Helper()
		if out, err := run(t, dir, env, "git", args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	mustRun(root, "init", "-q", "--bare", "-b", "main", "repo.git")
	mustRun(filepath.Join(root, "repo.git"), "config", "http.receivepack", "true")
	mustRun(work, "init", "-q", "-b", "main", "seed")
	seed := filepath.Join(work, "seed")
	os.WriteFile(filepath.Join(seed, "README"), []byte("hello\n"), 0o644)
	mustRun(seed, "add", "README")
	mustRun(seed, "commit", "-q", "-m", "first")
	mustRun(seed, "push", "-q", filepath.Join(root, "repo.git"), "main")

	pki := testpki.New(t)
	leaf := pki.Leaf(t, "git.allowed.test")
	up := newUpstream(t, &leaf, map[string]http.Handler{"/git/": gitServer(t, root)})
	routes := []schemas.RouteRule{{Host: "git.allowed.test", PathAllowlist: []string{"/git/repo.git"}, Methods: []string{"GET", "POST"}}}
	f := newFixture(t, routes, func(c *Config) {
		c.Resolve = map[string]string{"git.allowed.test:443": up.addr()}
		c.UpstreamRoots = pki.Pool()
	})
	ca := f.writeCA(t)
	genv := append(env, "HTTPS_PROXY="+f.proxyURL.String(), "GIT_SSL_CAINFO="+ca)
	out, err := run(t, work, genv, "git", "clone", "-q", "https://git.allowed.test/git/repo.git", "clone")
	if err != nil {
		t.Fatalf("clone through the proxy: %v\n%s", err, out)
	}
	clone := filepath.Join(work, "clone")
	if b, err := os.ReadFile(filepath.Join(clone, "README")); err != nil || string(b) != "hello\n" {
		t.Fatalf("cloned README: %q %v", b, err)
	}
	os.WriteFile(filepath.Join(clone, "README"), []byte("changed\n"), 0o644)
	mustRun(clone, "commit", "-q", "-am", "second")
	out, err = run(t, clone, genv, "git", "push", "origin", "main")
	if err == nil {
		t.Fatalf("push through the proxy succeeded:\n%s", out)
	}
	log, _ := run(t, filepath.Join(root, "repo.git"), env, "git", "log", "--oneline", "main")
	if strings.Contains(log, "second") {
		t.Fatalf("the push reached the server: %s", log)
	}
	found := false
	for _, d := range f.proxy.RecentDenials(10) {
		found = found || d.Reason == ReasonGitPush.String()
	}
	if !found {
		t.Fatalf("no git_push denial; git said:\n%s", out)
	}
}

func TestNodeClient(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		testreq.Missing(t, "node", err)
	}
	f := newFixture(t, defaultRoutes)
	ca := f.writeCA(t)
	script := `
const http = require('http'), tls = require('tls');
const [proxy, host, path] = process.argv.slice(1);
const [ph, pp] = proxy.split(':');
http.request({host: ph, port: pp, method: 'CONNECT', path: host + ':443'}).on('connect', (res, socket) => {
  if (res.statusCode !== 200) { console.log('connect', res.statusCode); socket.destroy(); return; }
  // TLS verified against NODE_EXTRA_CA_CERTS; no name is ever resolved.
  const s = tls.connect({socket, servername: host}, () => {
    s.write('GET ' + path + ' HTTP/1.1\r\nHost: ' + host + '\r\nConnection: close\r\n\r\n');
  });
  let raw = ''; s.on('data', d => raw += d);
  s.on('end', () => {
    const [head, ...rest] = raw.split('\r\n\r\n');
    console.log(head.split(' ')[1], rest.join('\r\n\r\n').trim());
  });
  s.on('error', e => { console.log('tls error', e.message); process.exit(1); });
}).end();`
	node := func(host, path string) string {
		out, err := run(t, "", []string{"NODE_EXTRA_CA_CERTS=" + ca}, "node", "-e", script, f.proxyURL.Host, host, path)
		if err != nil {
			t.Fatalf("node: %v\n%s", err, out)
		}
		return out
	}
	if out := node("api.allowed.test", "/repos/myorg/x"); !strings.HasPrefix(out, "200 ok GET /repos/myorg/x") {
		t.Fatalf("allowed: %s", out)
	}
	if out := node("api.allowed.test", "/other"); !strings.HasPrefix(out, "403 ") || !strings.Contains(out, `"reason":"path_not_allowed"`) {
		t.Fatalf("denied: %s", out)
	}
	if out := node("evil.test", "/"); !strings.HasPrefix(out, "403 ") || !strings.Contains(out, `"reason":"host_not_allowed"`) {
		t.Fatalf("unknown host: %s", out)
	}
}
