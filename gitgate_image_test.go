package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/testreq"
)

var (
	gitAgentImageOnce sync.Once
	gitAgentImageTag  string
	gitAgentImageErr  error
)

// gitAgentImage returns the tag of an image for an agent that uses git
// over HTTP: built FROM scratch (nothing can be pulled) with busybox for
// the shell's tools, and the host's git, its http remote helper and the
// shared libraries ldd lists for them. The tag names what went in, so a
// later run reuses the image.
func gitAgentImage(t *testing.T) string {
	t.Helper()
	gitAgentImageOnce.Do(func() { gitAgentImageTag, gitAgentImageErr = buildGitAgentImage(t) })
	if gitAgentImageErr != nil {
		t.Fatal(gitAgentImageErr)
	}
	return gitAgentImageTag
}

func buildGitAgentImage(t *testing.T) (string, error) {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		testreq.Missing(t, "/bin/busybox", err)
	}
	git, err := exec.LookPath("git")
	if err != nil {
		testreq.Missing(t, "git", err)
	}
	if git, err = filepath.EvalSymlinks(git); err != nil {
		return "", err
	}
	out, err := exec.Command(git, "--exec-path").Output()
	if err != nil {
		return "", fmt.Errorf("git --exec-path: %w", err)
	}
	execPath := strings.TrimSpace(string(out))
	remote := filepath.Join(execPath, "git-remote-http")
	if _, err := os.Stat(remote); err != nil {
		return "", fmt.Errorf("git's http helper: %w", err)
	}
	var files []imageFile
	dir := func(p string) {
		if !slices.ContainsFunc(files, func(f imageFile) bool { return f.path == p }) {
			files = append(files, imageFile{path: p, dir: true, mode: 0o755})
		}
	}
	for _, d := range []string{"bin/", "usr/", "usr/bin/", "etc/", "root/", "home/", "home/node/"} {
		dir(d)
	}
	files = append(files, imageFile{path: "tmp/", dir: true, mode: 0o1777})
	files = append(files, imageFile{path: "bin/busybox", body: bb, mode: 0o755})
	for _, applet := range []string{"sh", "cat", "cp", "echo", "env", "find", "ls", "mkdir", "mv", "rm", "sleep", "true", "id"} {
		files = append(files, imageFile{path: "bin/" + applet, link: "busybox"})
	}
	ep := strings.TrimPrefix(execPath, "/")
	for _, d := range parents(ep + "/x") {
		dir(d)
	}
	files = append(files,
		imageFile{path: "usr/bin/git", src: git, mode: 0o755},
		imageFile{path: ep + "/git", link: "/usr/bin/git"},
		imageFile{path: ep + "/git-remote-http", src: remote, mode: 0o755},
		imageFile{path: ep + "/git-remote-https", link: "git-remote-http"})
	libs := map[string]bool{}
	for _, bin := range []string{git, remote} {
		deps, err := lddPaths(bin)
		if err != nil {
			return "", err
		}
		for _, l := range deps {
			libs[l] = true
		}
	}
	for _, l := range slices.Sorted(maps.Keys(libs)) {
		for _, d := range parents(strings.TrimPrefix(l, "/")) {
			dir(d)
		}
		files = append(files, imageFile{path: strings.TrimPrefix(l, "/"), src: l, mode: 0o755})
	}
	files = append(files,
		imageFile{path: "etc/passwd", body: []byte("root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n"), mode: 0o644},
		imageFile{path: "etc/group", body: []byte("root:x:0:\nnode:x:1000:\n"), mode: 0o644})
	for i := range files {
		files[i].path = "rootfs/" + files[i].path
	}
	dockerfile := "FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/bin:/bin\n"
	files = append(files, imageFile{path: "Dockerfile", body: []byte(dockerfile), mode: 0o644})

	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s %s %o\n", f.path, f.link, f.mode)
		if f.src != "" {
			if fi, err := os.Stat(f.src); err == nil {
				fmt.Fprintf(h, "%s %d %d\n", f.src, fi.Size(), fi.ModTime().UnixNano())
			}
		}
		h.Write(f.body)
	}
	tag := "bot-bottle-test/git-agent:" + hex.EncodeToString(h.Sum(nil))[:12]

	return buildImageOnce(tag, files, 5*time.Minute)
}
