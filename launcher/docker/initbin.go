package docker

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// initBinRoot is where a root owner links the init binary for containers:
// a bind's source path shows in the container's mountinfo, and this one
// names neither the binary's folder nor anyone's home.
var initBinRoot = "/run/bot-bottle/bin"

// initBinary returns the path to bind as the container's init: for root, a
// hard link (or, across filesystems, a copy) of exe under initBinRoot, one
// per version of the binary; for other users exe itself. A binary inside
// the bottle's workdir is copied, never linked: the launcher protects it
// there, and refuses a protected file with a second name.
func initBinary(exe, workdir string) (string, error) {
	if os.Getuid() != 0 {
		return exe, nil
	}
	var st unix.Stat_t
	if err := unix.Stat(exe, &st); err != nil {
		return "", fmt.Errorf("init binary: %w", err)
	}
	dir := filepath.Join(initBinRoot, fmt.Sprintf("%x-%x-%d-%d", st.Dev, st.Ino, st.Mtim.Nano(), st.Size))
	p := filepath.Join(dir, "bot-bottle")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("init binary: %w", err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := p + ".tmp-" + hex.EncodeToString(rnd[:])
	if inside(exe, workdir) || os.Link(exe, tmp) != nil {
		if err := copyExecutable(exe, tmp); err != nil {
			_ = os.Remove(tmp)
			return "", fmt.Errorf("init binary: %w", err)
		}
	}
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("init binary: %w", err)
	}
	pruneInitBinaries(dir)
	return p, nil
}

// inside reports whether path lies in dir (both as the kernel resolves
// them).
func inside(path, dir string) bool {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// pruneInitBinaries removes the other versions' entries that are the last
// name of their file (the binary they linked was replaced or removed), so
// old binaries do not pile up. A running container keeps its bind of one.
func pruneInitBinaries(keep string) {
	ents, err := os.ReadDir(initBinRoot)
	if err != nil {
		return
	}
	for _, e := range ents {
		dir := filepath.Join(initBinRoot, e.Name())
		if dir == keep {
			continue
		}
		var st unix.Stat_t
		if unix.Stat(filepath.Join(dir, "bot-bottle"), &st) == nil && st.Nlink == 1 {
			_ = os.RemoveAll(dir)
		}
	}
}

func copyExecutable(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
