package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// testImageLabel marks every image the tests build, so what a killed run
// left behind can be told from the host's own images.
const testImageLabel = "org.bot-bottle.test"

// testImageLabels are the labels of a test image; kind is "cache" for an
// image later runs reuse (tagged by what went into it) and "run" for one
// built for this run only.
func testImageLabels(kind string) map[string]string {
	return map[string]string{testImageLabel: kind}
}

// systemCAPEM is the certificate the test images carry as their system
// trust store. It is committed (its key was thrown away when it was made),
// not minted per run, because a per-run certificate in an image of the
// real CLIs made a new gigabyte image every run: the tag names the content.
func systemCAPEM(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "system-ca.pem"))
	must(t, err)
	return b
}

// removeTestImage removes the image tag names once no container uses it
// any more. Removing a tag while a just-stopped container still holds the
// image (the daemon removes auto-remove containers after the wait
// returns) only untags it, and the untagged image stays on the disk for
// good: the image is removed by its id, after its containers are gone.
func removeTestImage(t testing.TB, tag string) {
	t.Helper()
	cli, err := client.New(client.WithAPIVersionNegotiation(), client.WithHostFromEnv())
	if err != nil {
		t.Logf("remove test image %s: %v", tag, err)
		return
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	img, err := cli.ImageInspect(ctx, tag)
	if err != nil {
		return // never built, or removed already
	}
	for {
		users, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("ancestor", img.ID)})
		if err != nil || len(users.Items) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Logf("remove test image %s: %d containers still use it", tag, len(users.Items))
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	if _, err := cli.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
		t.Logf("remove test image %s: %v", tag, err)
	}
}

// removeOtherTags removes the images of tag's repository other than tag,
// so a cache image (tagged by what went into it) does not pile up as its
// inputs change. An image still in use (a container, a concurrent run's
// image built on it) is left; the next run tries again.
func removeOtherTags(tag string) {
	repo, _, _ := strings.Cut(tag, ":")
	cli, err := client.New(client.WithAPIVersionNegotiation(), client.WithHostFromEnv())
	if err != nil {
		return
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := cli.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("reference", repo)})
	if err != nil {
		return
	}
	for _, img := range list.Items {
		for _, other := range img.RepoTags {
			if other != tag && strings.HasPrefix(other, repo+":") {
				_, _ = cli.ImageRemove(ctx, other, client.ImageRemoveOptions{PruneChildren: true})
			}
		}
	}
}
