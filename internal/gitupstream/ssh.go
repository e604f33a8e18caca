package gitupstream

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// SSH is a git upstream served by the machine's sshd on loopback: its own
// host key, one authorised client key, git-shell as the only command.
type SSH struct {
	Host string // the .test name
	Port int
	Root string // the folder of its bare repos
	User string // the login the URL names (the user the test runs as)
	// KeyFile is the authorised client's private key; KnownHostsFile
	// names the host key under Host, as strict checking wants it.
	KeyFile, KnownHostsFile string
	log                     lockedBuffer // sshd's log
	hostPub                 string       // its host key, "type base64"
}

// WriteKnownHosts writes a known_hosts file at path that names u's host
// key for u's name and port (a test gives another server's key to play a
// server in the middle).
func WriteKnownHosts(t testing.TB, path string, u *SSH) {
	t.Helper()
	keyType, keyData, _ := strings.Cut(u.hostPub, " ")
	keyData, _, _ = strings.Cut(keyData, " ")
	writeFile(t, path, fmt.Sprintf("%s,[%s]:%d %s %s\n", u.Host, u.Host, u.Port, keyType, keyData), 0o644)
}

// Log is sshd's log so far: which key it accepted, for which command.
func (u *SSH) Log() string { return u.log.String() }

// lockedBuffer is a buffer that sshd's output copier and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// NewSSH starts sshd for host (a .test name), or skips the test where the
// machine has no sshd.
func NewSSH(t testing.TB, host string) *SSH {
	t.Helper()
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		if sshd, err = exec.LookPath("/usr/sbin/sshd"); err != nil {
			t.Skip("no sshd on this machine (Debian: openssh-server)")
		}
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	u := &SSH{Host: host, Root: filepath.Join(dir, "repos"), User: me.Username, KeyFile: filepath.Join(dir, "client"),
		KnownHostsFile: filepath.Join(dir, "known_hosts")}
	if err := os.Mkdir(u.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	hostKey := filepath.Join(dir, "host")
	for _, k := range []string{hostKey, u.KeyFile} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", k).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	clientPub, hostPub := readFile(t, u.KeyFile+".pub"), readFile(t, hostKey+".pub")
	// git-shell runs the git command the client asked for, and nothing
	// else; restrict turns off forwarding, a pty and the user's rc file.
	auth := fmt.Sprintf("restrict,command=\"git-shell -c \\\"$SSH_ORIGINAL_COMMAND\\\"\" %s", strings.TrimSpace(clientPub))
	writeFile(t, filepath.Join(dir, "authorized_keys"), auth+"\n", 0o600)
	// A free port, then sshd on it: sshd cannot be handed a listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.Port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	u.hostPub = strings.TrimSpace(hostPub)
	WriteKnownHosts(t, u.KnownHostsFile, u)
	cfg := filepath.Join(dir, "sshd_config")
	writeFile(t, cfg, strings.Join([]string{
		"ListenAddress 127.0.0.1:" + strconv.Itoa(u.Port),
		"HostKey " + hostKey,
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"AuthenticationMethods publickey",
		"PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
		"PermitRootLogin prohibit-password", "AllowUsers " + me.Username,
		"StrictModes no", "PidFile none", "LogLevel VERBOSE",
		"AllowTcpForwarding no", "X11Forwarding no", "PermitTunnel no",
	}, "\n")+"\n", 0o644)
	// sshd wants its privilege separation folder; Debian makes it at boot.
	_ = os.MkdirAll("/run/sshd", 0o755)
	cmd := exec.Command(sshd, "-D", "-e", "-f", cfg)
	cmd.Stdout, cmd.Stderr = &u.log, &u.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("sshd: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", u.Addr()); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen on %s:\n%s", u.Addr(), u.Log())
		}
	}
	return u
}

// Addr is the upstream's loopback address.
func (u *SSH) Addr() string { return "127.0.0.1:" + strconv.Itoa(u.Port) }

// URL is the ssh URL of repo name (a bare repo under Root).
func (u *SSH) URL(name string) string {
	return fmt.Sprintf("ssh://%s@%s:%d%s", u.User, u.Host, u.Port, filepath.Join(u.Root, name+".git"))
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t testing.TB, p, s string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), mode); err != nil {
		t.Fatal(err)
	}
}
