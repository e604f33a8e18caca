// Package testfs gives a test a disk of its own that it can fill: a small
// tmpfs mounted on a temporary folder, unmounted when the test ends. The
// faults it injects (ENOSPC) are the kernel's, met by the real code.
// Mounting needs root, which CI has; elsewhere the test is skipped (see
// testreq). Imported only by tests.
package testfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bot-bottle/bot-bottle/internal/testreq"
)

// Small mounts a tmpfs of size bytes on a new temporary folder and returns
// the folder. The mount is detached at cleanup, so files still open there
// do not keep the test from ending.
func Small(t testing.TB, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testreq.Missing(t, "root (to mount a small tmpfs)", errors.New("not root"))
	}
	base, err := os.MkdirTemp("", "bbdisk-")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		os.RemoveAll(base)
		testreq.Missing(t, "a tmpfs mount", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
		os.RemoveAll(base)
	})
	return dir
}

// Fill writes a file in dir until the disk is full (ENOSPC) and returns
// the function that removes it again.
func Fill(t testing.TB, dir string) (free func()) {
	t.Helper()
	path := filepath.Join(dir, ".filler")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for chunk := 1 << 20; chunk > 0; chunk /= 2 {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, unix.ENOSPC) {
					t.Fatalf("fill %s: %v", dir, err)
				}
				break
			}
		}
	}
	return func() {
		if err := os.Remove(path); err != nil {
			t.Errorf("free %s: %v", dir, err)
		}
	}
}
