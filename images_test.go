package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/testreq"
	"github.com/moby/moby/client"
)

// imagesDir holds the agent images' Dockerfiles and their build context.
const imagesDir = "images"

// dockerInstr is one Dockerfile instruction, continuation lines joined.
type dockerInstr struct {
	op, args string
	line     int
}

func parseDockerfile(t *testing.T, path string) []dockerInstr {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	var out []dockerInstr
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		op, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, dockerInstr{op: strings.ToUpper(op), args: strings.TrimSpace(args), line: start})
		cur.Reset()
	}
	return out
}

// TestImageDockerfiles checks what can be checked without building the
// images (no base image can be pulled here): every file they COPY exists
// in the build context, the ENTRYPOINT is the copied wrapper in exec form,
// the USER is numeric (the docker backend gives the bottle's home to it),
// the CLI is the one the template runs, and the README says how to build
// each.
func TestImageDockerfiles(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(imagesDir, "README.md"))
	must(t, err)
	for name, pkg := range map[string]string{"claude": "@anthropic-ai/claude-code", "codex": "@openai/codex"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(imagesDir, name, "Dockerfile")
			copied := map[string]bool{}
			var entrypoint []string
			var user, from, cmd string
			installs := false
			for _, in := range parseDockerfile(t, path) {
				switch in.op {
				case "FROM":
					from = in.args
				case "COPY":
					f := strings.Fields(in.args)
					if len(f) < 2 {
						t.Fatalf("%s:%d: COPY needs a source and a destination", path, in.line)
					}
					for _, src := range f[:len(f)-1] {
						if strings.HasPrefix(src, "--") {
							continue
						}
						if _, err := os.Stat(filepath.Join(imagesDir, src)); err != nil {
							t.Errorf("%s:%d: COPY %s: not in the build context %s/: %v", path, in.line, src, imagesDir, err)
						}
					}
					copied[f[len(f)-1]] = true
				case "ENTRYPOINT":
					if err := json.Unmarshal([]byte(in.args), &entrypoint); err != nil {
						t.Errorf("%s:%d: ENTRYPOINT must be exec form (a JSON array): %v", path, in.line, err)
					}
				case "USER":
					user = in.args
				case "CMD":
					cmd = in.args
				case "RUN":
					if strings.Contains(in.args, "npm install -g") && strings.Contains(in.args, pkg) {
						installs = true
					}
				}
			}
			if from == "" {
				t.Errorf("%s: no FROM", path)
			}
			if !installs {
				t.Errorf("%s: does not npm install -g %s", path, pkg)
			}
			if len(entrypoint) != 1 || !copied[entrypoint[0]] {
				t.Errorf("%s: ENTRYPOINT %q is not the wrapper the file COPYs (%v)", path, entrypoint, copied)
			}
			if !regexp.MustCompile(`^[1-9][0-9]*:[0-9]+$`).MatchString(user) {
				t.Errorf("%s: USER %q: want a numeric non-root uid:gid", path, user)
			}
			if cmd != `["`+name+`"]` {
				t.Errorf("%s: CMD %s, want [%q]", path, cmd, name)
			}
			build := fmt.Sprintf("docker build -f images/%s/Dockerfile -t bot-bottle/%s images", name, name)
			if !strings.Contains(string(readme), build) {
				t.Errorf("images/README.md does not give the build command %q", build)
			}
		})
	}
	info, err := os.Stat(filepath.Join(imagesDir, "bot-bottle-entrypoint"))
	must(t, err)
	if info.Mode().Perm()&0o111 == 0 {
		t.Errorf("images/bot-bottle-entrypoint is not executable (COPY keeps the mode)")
	}
}

// shell is a POSIX sh to run the wrapper with: busybox's, as in the
// stand-in image, when there is one.
func shell(t *testing.T) []string {
	if _, err := os.Stat("/bin/busybox"); err == nil {
		return []string{"/bin/busybox", "sh"}
	}
	return []string{"/bin/sh"}
}

// TestEntrypointWrapper runs the images' entrypoint as the docker backend
// does: it refuses to start an agent outside a bottle, needs a writable
// home, gives every one-bundle TLS stack the public roots and the bottle's
// CA together, and execs the command with its arguments and exit code.
func TestEntrypointWrapper(t *testing.T) {
	wrapper, err := filepath.Abs(filepath.Join(imagesDir, "bot-bottle-entrypoint"))
	must(t, err)
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	must(t, os.MkdirAll(home, 0o700))
	sysCA, bottleCA := filepath.Join(dir, "system.pem"), filepath.Join(dir, "bottle.pem")
	must(t, os.WriteFile(sysCA, []byte("-----BEGIN CERTIFICATE-----\nSYSTEM\n-----END CERTIFICATE-----\n"), 0o644))
	must(t, os.WriteFile(bottleCA, []byte("-----BEGIN CERTIFICATE-----\nBOTTLE\n-----END CERTIFICATE-----\n"), 0o644))
	bottleEnv := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "BOT_BOTTLE_ID=demo-1", "HTTPS_PROXY=http://127.0.0.1:3128",
		"SSL_CERT_FILE=" + bottleCA, "NODE_EXTRA_CA_CERTS=" + bottleCA, "CODEX_CA_CERTIFICATE=" + bottleCA, "BOT_BOTTLE_SYSTEM_CA=" + sysCA}
	run := func(env []string, args ...string) (int, string, string) {
		cmd := exec.Command(shell(t)[0], append(append(shell(t)[1:], wrapper), args...)...)
		cmd.Env = env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}

	code, _, stderr := run([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}, "claude")
	if code != 64 || !strings.Contains(stderr, "bot-bottle launch NAME --backend docker") {
		t.Errorf("outside a bottle: exit %d, stderr %q; want 64 and how to start it", code, stderr)
	}
	if code, _, stderr = run(bottleEnv); code != 64 || !strings.Contains(stderr, "no command") {
		t.Errorf("no command: exit %d, %q", code, stderr)
	}
	if code, _, stderr = run(append(bottleEnv, "HOME="+filepath.Join(dir, "missing")), "true"); code != 65 || !strings.Contains(stderr, "not writable") {
		t.Errorf("unwritable home: exit %d, %q", code, stderr)
	}

	script := `echo "ssl=$SSL_CERT_FILE"; echo "codex=$CODEX_CA_CERTIFICATE"; echo "git=$GIT_SSL_CAINFO"; echo "node=$NODE_EXTRA_CA_CERTS"; echo "args=$*"; cat "$SSL_CERT_FILE"; exit 3`
	code, stdout, stderr := run(bottleEnv, "sh", "-c", script, "sh", "-p", "two words")
	if code != 3 {
		t.Errorf("exit %d (stderr %q), want the command's 3", code, stderr)
	}
	bundle := filepath.Join(home, ".cache", "bot-bottle", "ca-bundle.pem")
	for _, want := range []string{"ssl=" + bundle, "codex=" + bundle, "git=" + bundle, "node=" + bottleCA, "args=-p two words", "SYSTEM", "BOTTLE"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("wrapped command output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Index(stdout, "SYSTEM") > strings.Index(stdout, "BOTTLE") {
		t.Errorf("bundle order: want the public roots, then the bottle's CA")
	}
}

// buildStandinImage builds the agent image as images/NAME/Dockerfile
// describes it, with what cannot come from a registry replaced: FROM
// scratch with busybox instead of node, and the stand-in installed as
// claude and codex instead of the npm packages. The wrapper, the USER, the
// ENTRYPOINT and CMD are the real Dockerfile's.
func buildStandinImage(t *testing.T, name string) string {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		testreq.Missing(t, "/bin/busybox", err)
	}
	standin, err := os.ReadFile(agentStandin(t))
	must(t, err)
	var dockerfile strings.Builder
	dockerfile.WriteString("FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/bin:/bin\n")
	var copies []string
	for _, in := range parseDockerfile(t, filepath.Join(imagesDir, name, "Dockerfile")) {
		switch in.op {
		case "COPY":
			f := strings.Fields(in.args)
			copies = append(copies, f[:len(f)-1]...)
			fallthrough
		case "USER", "ENTRYPOINT", "CMD", "ENV":
			dockerfile.WriteString(in.op + " " + in.args + "\n")
		}
	}
	sysCA := systemCAPEM(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, mode int64, body []byte, link string) {
		h := &tar.Header{Name: name, Mode: mode, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
		switch {
		case link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, link, 0
		case strings.HasSuffix(name, "/"):
			h.Typeflag = tar.TypeDir
		}
		must(t, tw.WriteHeader(h))
		_, err := tw.Write(body)
		must(t, err)
	}
	add("Dockerfile", 0o644, []byte(dockerfile.String()), "")
	for _, src := range copies {
		data, err := os.ReadFile(filepath.Join(imagesDir, src))
		must(t, err)
		fi, err := os.Stat(filepath.Join(imagesDir, src))
		must(t, err)
		add(src, int64(fi.Mode().Perm()), data, "")
	}
	add("rootfs/bin/", 0o755, nil, "")
	add("rootfs/bin/busybox", 0o755, bb, "")
	for _, applet := range []string{"sh", "cat", "mkdir", "mv", "id", "ls", "env", "true"} {
		add("rootfs/bin/"+applet, 0o777, nil, "busybox")
	}
	add("rootfs/usr/local/bin/", 0o755, nil, "")
	add("rootfs/usr/local/bin/claude", 0o755, standin, "")
	add("rootfs/usr/local/bin/codex", 0o755, standin, "")
	add("rootfs/etc/", 0o755, nil, "")
	add("rootfs/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n"), "")
	add("rootfs/etc/group", 0o644, []byte("root:x:0:\nnode:x:1000:\n"), "")
	add("rootfs/etc/ssl/certs/", 0o755, nil, "")
	add("rootfs/etc/ssl/certs/ca-certificates.crt", 0o644, sysCA, "")
	add("rootfs/tmp/", 0o1777, nil, "")
	must(t, tw.Close())

	cli, err := client.New(client.WithAPIVersionNegotiation(), client.WithHostFromEnv())
	must(t, err)
	defer cli.Close()
	tag := fmt.Sprintf("bot-bottle-test/%s-standin:%d", name, time.Now().UnixNano())
	res, err := cli.ImageBuild(context.Background(), &buf, client.ImageBuildOptions{Tags: []string{tag}, Labels: testImageLabels("run"), Remove: true, NetworkMode: "none"})
	must(t, err)
	t.Cleanup(func() { removeTestImage(t, tag) })
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if bytes.Contains(out, []byte(`"error"`)) {
		t.Fatalf("build %s: %s", tag, out)
	}
	return tag
}
