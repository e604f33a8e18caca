package docker

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// defaultPath is the PATH of a container whose image does not set one.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// defaultImage returns the tag of the default image, building it first if
// the daemon does not have it. The image is busybox and its applets FROM
// scratch: no pull, nothing from a registry. The tag carries a digest of the
// busybox binary, so a changed busybox gets a new image. This is the only
// image the backend ever builds, and it says so when it does (Notify); the
// agent images are the user's to build (images/README.md).
func (b *Backend) defaultImage(ctx context.Context, cli *client.Client) (string, error) {
	bb, err := os.ReadFile(b.opts.Busybox)
	if err != nil {
		return "", fmt.Errorf("default image: busybox: %w (install busybox-static, or set agent_provider.image)", err)
	}
	sum := sha256.Sum256(bb)
	tag := "bot-bottle/default:busybox-" + hex.EncodeToString(sum[:6])
	b.imageMu.Lock()
	defer b.imageMu.Unlock()
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("default image %s: %w", tag, err)
	}
	if err := checkStatic(b.opts.Busybox); err != nil {
		return "", fmt.Errorf("default image: busybox: %w (install busybox-static)", err)
	}
	if b.opts.Notify != nil {
		b.opts.Notify(fmt.Sprintf("building the default image %s from %s (FROM scratch, offline; once per busybox version)", tag, b.opts.Busybox))
	}
	buildCtx, err := defaultContext(b.opts.Busybox, bb)
	if err != nil {
		return "", fmt.Errorf("default image: %w", err)
	}
	res, err := cli.ImageBuild(ctx, buildCtx, client.ImageBuildOptions{
		Tags:        []string{tag},
		Remove:      true,
		ForceRemove: true,
		NetworkMode: "none",
		Labels:      map[string]string{LabelImage: "default"},
	})
	if err != nil {
		return "", fmt.Errorf("default image: build %s: %w", tag, err)
	}
	defer res.Body.Close()
	if err := buildResult(res.Body); err != nil {
		return "", fmt.Errorf("default image: build %s: %w", tag, err)
	}
	return tag, nil
}

// buildResult reads the build's JSON message stream to the end and returns
// the error it reports, if any.
func buildResult(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if json.Unmarshal(sc.Bytes(), &msg) == nil && (msg.Error != "" || msg.ErrorDetail.Message != "") {
			if msg.ErrorDetail.Message != "" {
				return fmt.Errorf("%s", msg.ErrorDetail.Message)
			}
			return fmt.Errorf("%s", msg.Error)
		}
	}
	return sc.Err()
}

// defaultContext is the build context: a Dockerfile and a root filesystem
// with busybox, a symlink per applet, and the folders a shell expects.
func defaultContext(busyboxPath string, busybox []byte) (io.Reader, error) {
	applets, err := appletNames(busyboxPath)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body []byte) error {
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	dockerfile := "FROM scratch\nCOPY rootfs/ /\nENV PATH=" + defaultPath + "\nCMD [\"/bin/sh\"]\n"
	files := []struct {
		h    tar.Header
		body []byte
	}{
		{tar.Header{Name: "Dockerfile", Mode: 0o644, Typeflag: tar.TypeReg}, []byte(dockerfile)},
		{tar.Header{Name: "rootfs/bin/", Mode: 0o755, Typeflag: tar.TypeDir}, nil},
		{tar.Header{Name: "rootfs/bin/busybox", Mode: 0o755, Typeflag: tar.TypeReg}, busybox},
		{tar.Header{Name: "rootfs/etc/", Mode: 0o755, Typeflag: tar.TypeDir}, nil},
		{tar.Header{Name: "rootfs/etc/passwd", Mode: 0o644, Typeflag: tar.TypeReg}, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")},
		{tar.Header{Name: "rootfs/etc/group", Mode: 0o644, Typeflag: tar.TypeReg}, []byte("root:x:0:\nnogroup:x:65534:\n")},
		{tar.Header{Name: "rootfs/root/", Mode: 0o700, Typeflag: tar.TypeDir}, nil},
		{tar.Header{Name: "rootfs/tmp/", Mode: 0o1777, Typeflag: tar.TypeDir}, nil},
		{tar.Header{Name: "rootfs/usr/bin/", Mode: 0o755, Typeflag: tar.TypeDir}, nil},
	}
	for i := range files {
		if err := add(&files[i].h, files[i].body); err != nil {
			return nil, err
		}
	}
	for _, a := range applets {
		if a == "busybox" {
			continue
		}
		h := &tar.Header{Name: "rootfs/bin/" + a, Linkname: "busybox", Typeflag: tar.TypeSymlink, Mode: 0o777}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "rootfs/usr/bin/env", Linkname: "/bin/busybox", Typeflag: tar.TypeSymlink, Mode: 0o777}); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// appletNames asks busybox which applets it has, so each gets its name in
// /bin.
func appletNames(busybox string) ([]string, error) {
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("list busybox applets: %w", err)
	}
	var names []string
	for _, n := range strings.Fields(string(out)) {
		if n != "" && !strings.ContainsAny(n, "/.") {
			names = append(names, n)
		}
	}
	return names, nil
}

// imageInfo is what a bottle takes from its image's config.
type imageInfo struct {
	// path is the image's PATH, or the default.
	path string
	// entrypoint wraps the bottle's command, as under `docker run`: the
	// agent images' entrypoint checks it runs in a bottle and prepares
	// the CA bundle before it execs the agent.
	entrypoint []string
	// user is the image's USER; the agent's home is given to it.
	user string
}

// inspectImage reads the image's config.
func inspectImage(ctx context.Context, cli *client.Client, image string) (imageInfo, error) {
	res, err := cli.ImageInspect(ctx, image)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return imageInfo{}, fmt.Errorf("image %s is not on this Docker host: bot-bottle does not pull; pull or build it first", image)
		}
		return imageInfo{}, fmt.Errorf("image %s: %w", image, err)
	}
	info := imageInfo{path: defaultPath}
	if res.Config != nil {
		for _, kv := range res.Config.Env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				info.path = v
			}
		}
		info.entrypoint = res.Config.Entrypoint
		info.user = res.Config.User
	}
	return info, nil
}

// homeOptions are the tmpfs options of the agent's home for an image that
// runs as user: owned by that user, so the init (which runs as it) can
// write the agent's files there. A user given by name cannot be resolved
// without the image's /etc/passwd: the image must name it by number.
func homeOptions(image, user string) (opts, envUser string, err error) {
	name, group, _ := strings.Cut(user, ":")
	if name == "" || name == "root" || name == "0" {
		return "mode=0700", "root", nil
	}
	if _, err := strconv.ParseUint(name, 10, 32); err != nil {
		return "", "", fmt.Errorf("image %s runs as user %q: give the image's USER as a number (USER 1000:1000), so the bottle's home can be made that user's", image, user)
	}
	opts = "mode=0700,uid=" + name
	if group != "" {
		if _, err := strconv.ParseUint(group, 10, 32); err != nil {
			return "", "", fmt.Errorf("image %s runs as group %q: give the image's USER group as a number", image, group)
		}
		opts += ",gid=" + group
	}
	return opts, "", nil
}

// ownKeptHome gives the kept agent home to the user the container runs as
// (as homeOptions gives the tmpfs), so the agent can write its files there.
// Only its top folder changes owner: what the agent wrote is already its.
func ownKeptHome(dir string, uid, gid int) error {
	if err := os.Lchown(dir, uid, gid); err != nil {
		return fmt.Errorf("agent home %s: give it to the container's user %d:%d: %w", dir, uid, gid, err)
	}
	return nil
}
