package main

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/testreq"
	"github.com/moby/moby/client"
)

// realImageRevision changes whenever buildRealCLIImage puts something
// else in the image, so a cached image of an older recipe is not reused.
const realImageRevision = "2"

var (
	realImageOnce sync.Once
	realImageTag  string
	realImageErr  error
)

// realCLIImage returns the tag of an image holding both real CLIs, built
// as images/claude/Dockerfile describes an agent image (its USER, ENV and
// ENTRYPOINT, the shared entrypoint wrapper) but from files on this
// machine, since no base image can be pulled: FROM scratch with the CLIs'
// npm packages from the e2e cache, the host's bash and curl with the
// shared libraries ldd lists for them and for Claude Code, and busybox
// for the rest of a shell's tools. The image is kept, tagged by what went
// into it, so later runs reuse it.
func realCLIImage(t *testing.T) string {
	t.Helper()
	realImageOnce.Do(func() { realImageTag, realImageErr = buildRealCLIImage(t) })
	if realImageErr != nil {
		t.Fatal(realImageErr)
	}
	return realImageTag
}

// imageFile is one file of the image: its path inside, and the host file
// it comes from (or its content).
type imageFile struct {
	path, src string
	body      []byte
	mode      int64
	link      string // a symlink's target
	dir       bool
}

func buildRealCLIImage(t *testing.T) (string, error) {
	claude, codex := realCLIPaths(t)
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		testreq.Missing(t, "/bin/busybox", err)
	}
	var files []imageFile
	dir := func(p string) { files = append(files, imageFile{path: p, dir: true, mode: 0o755}) }
	for _, d := range []string{"bin/", "usr/", "usr/bin/", "usr/local/", "usr/local/bin/", "usr/local/lib/", "etc/", "etc/ssl/", "etc/ssl/certs/", "lib/", "lib64/", "root/", "home/", "home/node/"} {
		dir(d)
	}
	files = append(files, imageFile{path: "tmp/", dir: true, mode: 0o1777})
	files = append(files, imageFile{path: "bin/busybox", body: bb, mode: 0o755})
	for _, applet := range []string{"sh", "cat", "mkdir", "mv", "id", "ls", "env", "true", "echo", "rm", "grep", "sed", "head", "tail", "wc", "sleep", "uname", "ps", "which", "dirname", "basename", "readlink", "tr", "cut", "sort", "date", "find", "xargs", "stat", "touch", "cp", "chmod", "pwd", "test", "["} {
		files = append(files, imageFile{path: "bin/" + applet, link: "busybox"})
	}
	files = append(files, imageFile{path: "bin/bash", src: "/bin/bash", mode: 0o755})
	files = append(files, imageFile{path: "usr/bin/curl", src: "/usr/bin/curl", mode: 0o755})
	files = append(files, imageFile{path: "usr/local/bin/claude", src: claude, mode: 0o755})
	node, err := exec.LookPath("node")
	if err != nil {
		testreq.Missing(t, "node", err)
	}
	if node, err = filepath.EvalSymlinks(node); err != nil {
		return "", err
	}
	files = append(files, imageFile{path: "usr/bin/node", src: node, mode: 0o755}, imageFile{path: "usr/bin/env", link: "/bin/busybox"})
	libs := map[string]bool{}
	for _, bin := range []string{"/bin/bash", "/usr/bin/curl", claude, node} {
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
			if !slices.ContainsFunc(files, func(f imageFile) bool { return f.path == d }) {
				dir(d)
			}
		}
		files = append(files, imageFile{path: strings.TrimPrefix(l, "/"), src: l, mode: 0o755})
	}
	// Codex as npm install -g leaves it: its Node entry point and its
	// platform package with the native program.
	pkg := codexNodeModules(codex)
	err = filepath.WalkDir(pkg, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(pkg, p)
		in := filepath.ToSlash(filepath.Join("usr/local/lib/node_modules", r))
		switch {
		case d.IsDir():
			files = append(files, imageFile{path: in + "/", dir: true, mode: 0o755})
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			files = append(files, imageFile{path: in, link: target})
		default:
			fi, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, imageFile{path: in, src: p, mode: int64(fi.Mode().Perm())})
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	files = append(files, imageFile{path: "usr/local/bin/codex", link: "/usr/local/lib/node_modules/" + codexEntry})
	files = append(files,
		imageFile{path: "etc/passwd", body: []byte("root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/bash\n"), mode: 0o644},
		imageFile{path: "etc/group", body: []byte("root:x:0:\nnode:x:1000:\n"), mode: 0o644})
	files = append(files, imageFile{path: "etc/ssl/certs/ca-certificates.crt", body: systemCAPEM(t), mode: 0o644})

	// The Dockerfile: the real one's USER, ENV, ENTRYPOINT and CMD, and its
	// COPY of the entrypoint wrapper from the images folder.
	var dockerfile strings.Builder
	dockerfile.WriteString("FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/bin:/usr/bin:/bin SHELL=/bin/bash\n")
	for _, in := range parseDockerfile(t, filepath.Join(imagesDir, "claude", "Dockerfile")) {
		switch in.op {
		case "COPY":
			f := strings.Fields(in.args)
			for _, src := range f[:len(f)-1] {
				data, err := os.ReadFile(filepath.Join(imagesDir, src))
				if err != nil {
					return "", err
				}
				files = append(files, imageFile{path: "ctx/" + src, body: data, mode: 0o755})
			}
			dockerfile.WriteString("COPY ctx/" + strings.Join(f[:len(f)-1], " ctx/") + " " + f[len(f)-1] + "\n")
		case "USER", "ENTRYPOINT", "CMD", "ENV":
			dockerfile.WriteString(in.op + " " + in.args + "\n")
		}
	}
	files = append(files, imageFile{path: "Dockerfile", body: []byte(dockerfile.String()), mode: 0o644})
	for i := range files {
		if !strings.HasPrefix(files[i].path, "ctx/") && files[i].path != "Dockerfile" {
			files[i].path = "rootfs/" + files[i].path
		}
	}
	// The tag names what went in: the CLI versions, the recipe, the
	// Dockerfile and the host programs copied.
	h := sha256.New()
	fmt.Fprintf(h, "%s %s %s\n%s", claudeCodeVersion, codexVersion, realImageRevision, dockerfile.String())
	for _, f := range files {
		if f.src != "" {
			if fi, err := os.Stat(f.src); err == nil {
				fmt.Fprintf(h, "%s %d %d\n", f.src, fi.Size(), fi.ModTime().UnixNano())
			}
		}
		h.Write(f.body)
	}
	tag := "bot-bottle-test/realcli:" + claudeCodeVersion + "-" + codexVersion + "-" + hex.EncodeToString(h.Sum(nil))[:12]

	return buildImageOnce(tag, files, 15*time.Minute)
}

// buildImageOnce builds tag from files (a FROM-scratch context) unless the
// Docker host has it already, and fails with the build's own errors. The
// image is a cache, kept for later runs; older tags of its repository
// (other inputs) are removed, so one image per recipe stays on the disk.
func buildImageOnce(tag string, files []imageFile, timeout time.Duration) (string, error) {
	cli, err := client.New(client.WithAPIVersionNegotiation(), client.WithHostFromEnv())
	if err != nil {
		return "", err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	defer removeOtherTags(tag)
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeContext(pw, files)) }()
	res, err := cli.ImageBuild(ctx, pr, client.ImageBuildOptions{Tags: []string{tag}, Labels: testImageLabels("cache"), Remove: true, ForceRemove: true, NetworkMode: "none"})
	if err != nil {
		pr.CloseWithError(err)
		return "", fmt.Errorf("build %s: %w", tag, err)
	}
	defer res.Body.Close()
	var errs strings.Builder
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"error"`) {
			errs.WriteString(sc.Text() + "\n")
		}
	}
	if errs.Len() > 0 {
		return "", fmt.Errorf("build %s: %s", tag, errs.String())
	}
	if _, err := cli.ImageInspect(ctx, tag); err != nil {
		return "", fmt.Errorf("build %s: the image is not there: %w", tag, err)
	}
	return tag, nil
}

// writeContext streams the build context, reading the host's files as it
// goes (the CLIs are hundreds of MB).
func writeContext(w io.Writer, files []imageFile) error {
	tw := tar.NewWriter(w)
	for _, f := range files {
		h := &tar.Header{Name: f.path, Mode: f.mode, ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
		switch {
		case f.dir:
			h.Typeflag = tar.TypeDir
		case f.link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, f.link, 0o777
		case f.src != "":
			fi, err := os.Stat(f.src)
			if err != nil {
				return err
			}
			h.Size = fi.Size()
		default:
			h.Size = int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		switch {
		case f.src != "" && !f.dir && f.link == "":
			in, err := os.Open(f.src)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, in)
			in.Close()
			if err != nil {
				return err
			}
		case len(f.body) > 0:
			if _, err := tw.Write(f.body); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

var lddLine = regexp.MustCompile(`(?:=>\s*)?(/\S+)\s+\(0x`)

// lddPaths lists the shared libraries bin loads, the dynamic loader
// included, as ldd resolves them on this machine.
func lddPaths(bin string) ([]string, error) {
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", bin, err)
	}
	var libs []string
	for _, line := range strings.Split(string(out), "\n") {
		if m := lddLine.FindStringSubmatch(line); m != nil {
			libs = append(libs, m[1])
		}
	}
	return libs, nil
}

// parents lists the folders above a relative path, outermost first, each
// with a trailing slash.
func parents(p string) []string {
	var out []string
	for d := filepath.Dir(p); d != "." && d != "/"; d = filepath.Dir(d) {
		out = append([]string{d + "/"}, out...)
	}
	return out
}
