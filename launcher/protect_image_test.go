package launcher_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/bot-bottle/bot-bottle/internal/testreq"
	"github.com/moby/moby/client"
)

var (
	gitImageOnce sync.Once
	gitImageTag  string
	gitImageErr  error
)

// gitImage builds (once per test process) an image FROM scratch with the
// host's busybox and the host's git with the libraries it links: nothing
// is pulled. The tag carries a digest of its content, so an unchanged
// image is reused across runs.
func gitImage(t *testing.T, cli *client.Client) string {
	t.Helper()
	gitImageOnce.Do(func() { gitImageTag, gitImageErr = buildGitImage(cli) })
	if gitImageErr != nil {
		t.Fatal(gitImageErr)
	}
	return gitImageTag
}

func buildGitImage(cli *client.Client) (string, error) {
	files := map[string]string{"/bin/busybox": "/bin/busybox"} // in the image -> on the host
	git, err := exec.LookPath("git")
	if err != nil {
		return "", fmt.Errorf("git image: %w", err)
	}
	git, _ = filepath.EvalSymlinks(git)
	files["/usr/bin/git"] = git
	files["/usr/lib/git-core/git"] = git
	out, err := exec.Command("ldd", git).Output()
	if err != nil {
		return "", fmt.Errorf("git image: ldd %s: %w", git, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "/") {
				real, err := filepath.EvalSymlinks(f)
				if err != nil {
					return "", fmt.Errorf("git image: %w", err)
				}
				files[f] = real
			}
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	sum := sha256.New()
	add := func(h *tar.Header, body []byte) error {
		h.Size = int64(len(body))
		fmt.Fprintf(sum, "%s %s %d\n", h.Name, h.Linkname, h.Size)
		sum.Write(body)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	dirs := map[string]bool{}
	mkdirs := func(p string) error {
		for d := filepath.Dir(p); d != "/" && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			if err := add(&tar.Header{Name: "rootfs" + d + "/", Mode: 0o755, Typeflag: tar.TypeDir}, nil); err != nil {
				return err
			}
		}
		return nil
	}
	if err := add(&tar.Header{Name: "Dockerfile", Mode: 0o644, Typeflag: tar.TypeReg},
		[]byte("FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/bin:/bin\n")); err != nil {
		return "", err
	}
	for _, p := range []string{"/tmp/x", "/root/x", "/etc/x"} {
		if err := mkdirs(p); err != nil {
			return "", err
		}
	}
	if err := add(&tar.Header{Name: "rootfs/etc/passwd", Mode: 0o644, Typeflag: tar.TypeReg}, []byte("root:x:0:0:root:/root:/bin/sh\n")); err != nil {
		return "", err
	}
	names := make([]string, 0, len(files))
	for in := range files {
		names = append(names, in)
	}
	sort.Strings(names) // a stable tar, so a stable tag
	for _, in := range names {
		host := files[in]
		body, err := os.ReadFile(host)
		if err != nil {
			if in == "/bin/busybox" {
				return "", fmt.Errorf("git image: %w (install busybox-static)", err)
			}
			return "", fmt.Errorf("git image: %w", err)
		}
		if err := mkdirs(in); err != nil {
			return "", err
		}
		if err := add(&tar.Header{Name: "rootfs" + in, Mode: 0o755, Typeflag: tar.TypeReg}, body); err != nil {
			return "", err
		}
	}
	for _, applet := range []string{"sh", "echo", "cat", "ls", "mkdir", "mv", "rm", "touch", "grep", "cp", "ln", "sleep", "true", "env"} {
		if err := add(&tar.Header{Name: "rootfs/bin/" + applet, Linkname: "busybox", Typeflag: tar.TypeSymlink, Mode: 0o777}, nil); err != nil {
			return "", err
		}
	}
	for _, sub := range []string{"upload-pack", "receive-pack"} {
		if err := add(&tar.Header{Name: "rootfs/usr/lib/git-core/git-" + sub, Linkname: "git", Typeflag: tar.TypeSymlink, Mode: 0o777}, nil); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	tag := "bot-bottle-test/git:" + hex.EncodeToString(sum.Sum(nil)[:6])
	if _, err := cli.ImageInspect(context.Background(), tag); err == nil {
		return tag, nil
	}
	res, err := cli.ImageBuild(context.Background(), &buf, client.ImageBuildOptions{Tags: []string{tag}, Labels: map[string]string{"org.bot-bottle.test": "cache"}, Remove: true, ForceRemove: true, NetworkMode: "none"})
	if err != nil {
		return "", fmt.Errorf("git image: build: %w", err)
	}
	defer res.Body.Close()
	msgs, _ := io.ReadAll(res.Body)
	if bytes.Contains(msgs, []byte(`"error"`)) {
		return "", fmt.Errorf("git image: build %s: %s", tag, msgs)
	}
	return tag, nil
}

// requireBusybox fails (or skips outside CI) when the machine has no
// static busybox, which the docker images are built from.
func requireBusybox(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/bin/busybox"); err != nil {
		testreq.Missing(t, "/bin/busybox", err)
	}
}
