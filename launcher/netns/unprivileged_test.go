package netns_test

import (
	"io"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/bot-bottle/bot-bottle/launcher/internal/testbin"
)

// unprivilegedUser runs the local backend's isolation tests when the suite
// runs as root (as CI does): scripts/setup.sh creates it, and so does the
// test when it is missing.
const unprivilegedUser = "bot-bottle-test"

// isolationTests are the tests that run again as unprivilegedUser.
const isolationTests = "^(TestBoundaryKernelSurface|TestBoundaryIdentity|TestBoundaryHostFacts|TestBoundaryKeptHomeHostPath|TestExitCodeAndEnv|TestNetworkIsLoopbackOnly|TestHostSecretsHidden|TestReadonlyRoot|TestStopForwardsSIGTERM)$"

// TestIsolationAsUnprivilegedUser runs the local backend's isolation tests
// as an unprivileged user, from this package's test binary built static:
// the single-id mapping of a user who is not root must hold as it did.
func TestIsolationAsUnprivilegedUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to become an unprivileged user; the isolation tests themselves ran as this user")
	}
	uid, gid := ensureUser(t)
	dir, err := os.MkdirTemp("", "bbu") // short: socket paths under it must fit 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := testbin.Path()
	if err != nil {
		t.Fatal(err)
	}
	userBin := filepath.Join(dir, "bot-bottle")
	copyFile(t, bin, userBin)
	testBin := filepath.Join(dir, "netns.test")
	build := exec.Command("go", "test", "-c", "-o", testBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the test binary: %v\n%s", err, out)
	}
	tmp := filepath.Join(dir, "t")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, uid, gid); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testBin, "-test.run", isolationTests, "-test.v", "-test.count=1")
	cmd.Dir = tmp
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR=" + tmp, "HOME=" + tmp,
		"BOT_BOTTLE_TEST_BIN=" + userBin, "BOT_BOTTLE_REQUIRE_DOCKER=1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	t.Logf("as %s (uid %d):\n%s", unprivilegedUser, uid, out)
	if err != nil {
		t.Fatalf("the isolation tests failed as an unprivileged user: %v", err)
	}
	for _, name := range strings.Split(strings.Trim(isolationTests, "^$()"), "|") {
		if !strings.Contains(string(out), "--- PASS: "+name+" ") {
			t.Errorf("%s did not pass as an unprivileged user", name)
		}
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Errorf("a test skipped as an unprivileged user")
	}
}

func ensureUser(t *testing.T) (uid, gid int) {
	t.Helper()
	u, err := osuser.Lookup(unprivilegedUser)
	if err != nil {
		add := exec.Command("useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", unprivilegedUser)
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("useradd %s: %v\n%s", unprivilegedUser, err, out)
		}
		if u, err = osuser.Lookup(unprivilegedUser); err != nil {
			t.Fatal(err)
		}
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	if uid == 0 || gid == 0 {
		t.Fatalf("%s is root", unprivilegedUser)
	}
	return uid, gid
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
