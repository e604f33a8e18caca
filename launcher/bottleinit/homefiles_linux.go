package bottleinit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
	"golang.org/x/sys/unix"
)

// writeFiles empties the folders clean of the agent's home, then writes the
// plan's agent files under it: placeholders (a dummy auth.json), never a
// credential, and an agent's prompt and skills, copied as bytes.
//
// The home is kept between launches, so an earlier agent may have left a
// symlink where a file or folder of the plan goes (~/.claude/skills ->
// /workdir/.git/hooks). Nothing is written or removed through one: a
// symlink, or anything but a folder, in the way of a folder is removed
// (the link itself) and a folder made; a file is written with O_NOFOLLOW
// after whatever was at its place is removed. The agent's command has not
// started yet, so nothing in the bottle can swap a link in between.
func writeFiles(home string, clean []string, files []schemas.AgentFile) error {
	if home == "" {
		return nil
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("agent home %s: %w", home, err)
	}
	for _, c := range clean {
		p, err := homePath(home, c)
		if err != nil {
			return err
		}
		if err := ensureDirs(home, filepath.Dir(p)); err != nil {
			return err
		}
		if err := os.RemoveAll(p); err != nil { // removes a final symlink, never follows it
			return fmt.Errorf("agent folder %s: empty: %w", p, err)
		}
	}
	for _, f := range files {
		p, err := homePath(home, f.Path)
		if err != nil {
			return err
		}
		if err := ensureDirs(home, filepath.Dir(p)); err != nil {
			return err
		}
		mode := fs.FileMode(f.Mode) & fs.ModePerm
		if mode == 0 {
			mode = 0o600
		}
		data := f.Data
		if data == nil {
			data = []byte(f.Content)
		}
		if err := writeNoFollow(p, data, mode); err != nil {
			return fmt.Errorf("agent file %s: %w", p, err)
		}
	}
	return nil
}

// homePath returns rel inside home, refusing a path that leaves it.
func homePath(home, rel string) (string, error) {
	c := filepath.Clean(rel)
	if rel == "" || filepath.IsAbs(c) || c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("agent file %q: not inside the agent's home", rel)
	}
	return filepath.Join(home, c), nil
}

// ensureDirs makes every folder from home down to dir, replacing a symlink
// or a non-folder in the way.
func ensureDirs(home, dir string) error {
	rel, err := filepath.Rel(home, dir)
	if err != nil || rel == "." {
		return err
	}
	p := home
	for _, el := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, el)
		fi, err := os.Lstat(p)
		switch {
		case err == nil && fi.IsDir():
			continue
		case err == nil:
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("agent folder %s: replace the %s there: %w", p, kindOf(fi), err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("agent folder %s: %w", p, err)
		}
		if err := os.Mkdir(p, 0o700); err != nil {
			return fmt.Errorf("agent folder %s: %w", p, err)
		}
	}
	return nil
}

func kindOf(fi fs.FileInfo) string {
	if fi.Mode()&fs.ModeSymlink != 0 {
		return "symlink"
	}
	return "file"
}

// writeNoFollow writes data to p as a new regular file: whatever was there
// (a symlink, a file) is removed first, and the open refuses to follow a
// link.
func writeNoFollow(p string, data []byte, mode fs.FileMode) error {
	if fi, err := os.Lstat(p); err == nil {
		if fi.IsDir() {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		} else if err := os.Remove(p); err != nil {
			return err
		}
	}
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(mode))
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), p)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil { // the umask may have narrowed it
		f.Close()
		return err
	}
	return f.Close()
}
