package docker_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bot-bottle/bot-bottle/launcher/docker"
	"github.com/bot-bottle/bot-bottle/launcher/internal/testbin"
)

func TestCheckSaysWhatIsWrong(t *testing.T) {
	bin, err := testbin.Path()
	if err != nil {
		t.Fatal(err)
	}
	noDaemon := docker.New(docker.Options{Exe: bin, Host: "unix://" + filepath.Join(t.TempDir(), "no-docker.sock")})
	err = noDaemon.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot reach the Docker daemon") || !strings.Contains(err.Error(), "--backend local") {
		t.Errorf("no daemon: %v", err)
	}
	// Debian's /bin/sh needs the C library's loader, as a cgo build of
	// bot-bottle would.
	dyn := docker.New(docker.Options{Exe: "/bin/sh"})
	if err := dyn.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "dynamically linked") || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Errorf("dynamic binary: %v", err)
	}
	notELF := filepath.Join(t.TempDir(), "script")
	os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755)
	if err := docker.New(docker.Options{Exe: notELF}).Check(context.Background()); err == nil {
		t.Errorf("a non-ELF init binary was accepted")
	}
}
