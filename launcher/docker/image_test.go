package docker_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bot-bottle/bot-bottle/launcher/docker"
	"github.com/bot-bottle/bot-bottle/launcher/internal/testbin"
	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/moby/moby/client"
)

// The default image is the one image the backend builds, and it says so,
// once: a second bottle finds it built.
func TestDefaultImageIsBuiltOnceAndSaysSo(t *testing.T) {
	newBackend(t) // skips or fails as every docker test does
	bin, err := testbin.Path()
	if err != nil {
		t.Fatal(err)
	}
	// A busybox of its own (a few bytes after the ELF change its digest,
	// not what it runs), so this test's image is new and removed after.
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	tail := make([]byte, 16)
	rand.Read(tail)
	own := filepath.Join(t.TempDir(), "busybox")
	if err := os.WriteFile(own, append(bb, tail...), 0o755); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var told []string
	b := docker.New(docker.Options{Exe: bin, Busybox: own, Notify: func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		told = append(told, msg)
	}})
	for i := 0; i < 2; i++ {
		f := newFixture(t, schemas.RuntimeRunc) // the image is the Engine's, whatever runs it
		f.backend = b
		var out bytes.Buffer
		p := f.start(&out, "true")
		if code, err := p.Wait(); err != nil || code != 0 {
			t.Fatalf("bottle %d: exit %d, %v\n%s", i, code, err, out.String())
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(told) != 1 || !strings.Contains(told[0], "building the default image bot-bottle/default:busybox-") || !strings.Contains(told[0], own) {
		t.Fatalf("told %q; want one notice of the build", told)
	}
	tag := strings.Fields(strings.TrimPrefix(told[0], "building the default image "))[0]
	cli, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ImageRemove(context.Background(), tag, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
		t.Errorf("remove %s: %v", tag, err)
	}
}
