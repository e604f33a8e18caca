// Package gitupstream runs real git servers on loopback for tests of the
// git gate: git's smart HTTP (`git http-backend`) behind a TLS server that
// demands a token, and sshd with its own host key and one authorised key.
// Each is reached under a .test name that the code under test must pin to
// loopback; nothing here resolves a real name.
package gitupstream

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/bot-bottle/bot-bottle/internal/testpki"
)

// HTTPS is a git smart-HTTP upstream over TLS that admits only HTTP Basic
// with Token as the password.
type HTTPS struct {
	Host   string // the .test name
	Port   int
	Root   string // the folder of its bare repos
	CAFile string // PEM of the CA its certificate chains to
	Token  string

	mu       sync.Mutex
	requests int
	refused  int
}

// NewHTTPS starts an upstream for host (a .test name) that demands token.
func NewHTTPS(t testing.TB, host, token string) *HTTPS {
	t.Helper()
	pki := testpki.New(t)
	u := &HTTPS{Host: host, Root: t.TempDir(), Token: token, CAFile: filepath.Join(t.TempDir(), "upstream-ca.pem")}
	if err := os.WriteFile(u.CAFile, pki.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := pki.NewTLSServer(t, http.HandlerFunc(u.serve), host)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	u.Port, _ = strconv.Atoi(port)
	return u
}

// Addr is the upstream's loopback address.
func (u *HTTPS) Addr() string { return "127.0.0.1:" + strconv.Itoa(u.Port) }

// URL is the https URL of repo name (a bare repo under Root).
func (u *HTTPS) URL(name string) string {
	return "https://" + u.Host + ":" + strconv.Itoa(u.Port) + "/" + name + ".git"
}

// Counts reports how many requests it served and how many it refused for
// their credential.
func (u *HTTPS) Counts() (served, refused int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.requests, u.refused
}

func (u *HTTPS) serve(w http.ResponseWriter, r *http.Request) {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+u.Token))
	got := r.Header.Get("Authorization")
	u.mu.Lock()
	u.requests++
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		u.refused++
		u.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	u.mu.Unlock()
	h := &cgi.Handler{
		Path: gitPath(), Args: []string{"http-backend"}, Root: "/",
		Env: []string{"GIT_PROJECT_ROOT=" + u.Root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true"},
		Stderr: &bytes.Buffer{},
	}
	h.ServeHTTP(w, r)
}

func gitPath() string {
	p, err := exec.LookPath("git")
	if err != nil {
		return "/usr/bin/git"
	}
	return p
}

// Git runs git in dir with a hermetic config and returns its stdout; it
// fails the test on error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := GitErr(dir, nil, args...)
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// GitErr runs git in dir with env added to a hermetic base and returns its
// stdout, or an error with its stderr.
func GitErr(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command(gitPath(), args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid",
		"GIT_TERMINAL_PROMPT=0"}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &cmdError{err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

type cmdError struct {
	err    error
	stderr string
}

func (e *cmdError) Error() string { return e.err.Error() + ": " + e.stderr }

// NewRepo makes a bare repo root/name.git whose main branch has the files
// given (path -> content) in one commit per entry of commits, and returns
// its path.
func NewRepo(t testing.TB, root, name string, commits ...map[string]string) string {
	t.Helper()
	bare := filepath.Join(root, name+".git")
	Git(t, root, "init", "--bare", "--quiet", "--initial-branch=main", bare)
	work := t.TempDir()
	Git(t, work, "init", "--quiet", "--initial-branch=main")
	if len(commits) == 0 {
		commits = []map[string]string{{"README.md": "# " + name + "\n"}}
	}
	for i, files := range commits {
		for p, content := range files {
			full := filepath.Join(work, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		Git(t, work, "add", "-A")
		Git(t, work, "commit", "--quiet", "-m", "commit "+strconv.Itoa(i))
	}
	Git(t, work, "push", "--quiet", bare, "main")
	return bare
}

// Ref returns the object id of ref in the bare repo, "" when it has none.
func Ref(t testing.TB, bare, ref string) string {
	t.Helper()
	out, err := GitErr(bare, nil, "rev-parse", "--verify", "--quiet", ref)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}
