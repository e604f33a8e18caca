package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/testreq"
	"github.com/moby/moby/client"
)

// TestLaunchDockerImage: agent_provider.image picks the container image,
// and an image the daemon does not have is a clear error, with nothing
// left behind (bot-bottle never pulls).
func TestLaunchDockerImage(t *testing.T) {
	e := newE2E(t, "docker")
	cli, err := client.New(client.WithAPIVersionNegotiation(), client.WithHostFromEnv())
	must(t, err)
	defer cli.Close()
	tag := fmt.Sprintf("bot-bottle-test/marker:%d", time.Now().UnixNano())
	t.Cleanup(func() { removeTestImage(t, tag) })
	buildMarkerImage(t, cli, tag)

	writeBottle := func(image string) {
		must(t, os.WriteFile(filepath.Join(e.home, "bottles", "demo.yaml"), []byte(`agent_provider: {template: command, image: "`+image+`"}
egress:
  routes:
    - host: allowed.test
`), 0o644))
	}
	writeBottle(tag)
	code, out, errOut := e.run("sh", "-c", "cat /marker")
	if code != 0 || !strings.Contains(out, "custom-image-marker") {
		t.Fatalf("launch in %s: exit %d\n%s\n%s", tag, code, out, errOut)
	}
	writeBottle(tag + "-missing")
	code, _, errOut = e.run("true")
	if code == 0 || !strings.Contains(errOut, "is not on this Docker host") {
		t.Errorf("a missing image: exit %d, stderr %q", code, errOut)
	}
	if entries, _ := os.ReadDir(filepath.Join(e.home, "run")); len(entries) > 0 {
		t.Errorf("a failed launch left a run folder")
	}
}

// buildMarkerImage builds FROM scratch: busybox as /bin/sh and a /marker.
func buildMarkerImage(t *testing.T, cli *client.Client, tag string) {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		testreq.Missing(t, "/bin/busybox", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		name, link string
		mode       int64
		body       []byte
	}{
		{"Dockerfile", "", 0o644, []byte("FROM scratch\nCOPY rootfs/ /\n")},
		{"rootfs/bin/busybox", "", 0o755, bb},
		{"rootfs/bin/sh", "busybox", 0o777, nil},
		{"rootfs/bin/cat", "busybox", 0o777, nil},
		{"rootfs/marker", "", 0o644, []byte("custom-image-marker\n")},
	}
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), Typeflag: tar.TypeReg}
		if f.link != "" {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, f.link, 0
		}
		must(t, tw.WriteHeader(h))
		_, err := tw.Write(f.body)
		must(t, err)
	}
	must(t, tw.Close())
	res, err := cli.ImageBuild(context.Background(), &buf, client.ImageBuildOptions{Tags: []string{tag}, Labels: testImageLabels("run"), Remove: true, NetworkMode: "none"})
	must(t, err)
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if bytes.Contains(out, []byte(`"error"`)) {
		t.Fatalf("build %s: %s", tag, out)
	}
}
