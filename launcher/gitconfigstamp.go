package launcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// fileStamp is what a stat says of a file git may read: enough that a
// change of its content, a replacement by another file, or its appearing
// or going away changes the stamp (short of a same-size rewrite within
// one timestamp tick, which settledBefore rules out).
type fileStamp struct {
	path         string
	absent       unix.Errno // ENOENT or ENOTDIR when there is no such file, else 0
	dev, ino     uint64
	rdev         uint64
	mode         uint32
	size         int64
	mtime, ctime int64 // ns
}

// errNotStampable is a file whose stat does not stand for what git reads
// from it (a FIFO, a folder, another device than the null one).
var errNotStampable = errors.New("not a regular file")

// stampFile stats path the way git opens it (following symlinks). A file
// that is not there is stamped as absent; any other stat error, or a file
// whose content a stat does not pin, is an error.
func stampFile(path string) (fileStamp, error) {
	var st unix.Stat_t
	err := unix.Stat(path, &st)
	var errno unix.Errno
	switch {
	case errors.As(err, &errno) && (errno == unix.ENOENT || errno == unix.ENOTDIR):
		return fileStamp{path: path, absent: errno}, nil
	case err != nil:
		return fileStamp{}, fmt.Errorf("stat %s: %w", path, err)
	}
	isNull := st.Mode&unix.S_IFMT == unix.S_IFCHR && unix.Major(st.Rdev) == 1 && unix.Minor(st.Rdev) == 3
	if st.Mode&unix.S_IFMT != unix.S_IFREG && !isNull {
		return fileStamp{}, fmt.Errorf("stat %s: %w", path, errNotStampable)
	}
	return fileStamp{path: path, dev: st.Dev, ino: st.Ino, rdev: st.Rdev, mode: st.Mode, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}, nil
}

// settledBefore reports whether the file last changed at least racyWindow
// before t, so that a later rewrite is sure to change its stamp. An absent
// file has nothing to rewrite.
func (s fileStamp) settledBefore(t time.Time) bool {
	if s.absent != 0 {
		return true
	}
	limit := t.Add(-racyWindow).UnixNano()
	return s.mtime < limit && s.ctime < limit
}

// isExecutableImage reports whether the file at path is an ELF program.
// A script (#!) is the other kind of executable, and its behaviour may
// depend on files no stamp covers: asdf's or mise's git shim chooses the
// real git by a .tool-versions in the folder it runs in, the workdir.
func isExecutableImage(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	_, err = io.ReadFull(f, magic[:])
	return err == nil && string(magic[:]) == "\x7fELF"
}

// gitFindsNoRepo reports whether git, run in workdir with discovery
// stopped at workdir (GIT_CEILING_DIRECTORIES is its parent), finds no
// repository: workdir/.git is absent or a folder without HEAD, and workdir
// itself has no HEAD (a bare repository needs one), as git's
// is_git_directory checks. The ceiling holds only when workdir is its own
// real path (git compares real paths), so a path through a symlink is
// not answered for.
func gitFindsNoRepo(workdir string) bool {
	if !filepath.IsAbs(workdir) {
		return false
	}
	if real, err := filepath.EvalSymlinks(workdir); err != nil || real != filepath.Clean(workdir) {
		return false
	}
	var st unix.Stat_t
	switch err := unix.Lstat(filepath.Join(workdir, ".git"), &st); {
	case errors.Is(err, unix.ENOENT):
	case err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR:
		if err := unix.Lstat(filepath.Join(workdir, ".git", "HEAD"), &st); !errors.Is(err, unix.ENOENT) {
			return false
		}
	default:
		return false
	}
	return errors.Is(unix.Lstat(filepath.Join(workdir, "HEAD"), &st), unix.ENOENT)
}

// systemConfig returns the system config file git reads under env: the
// GIT_CONFIG_SYSTEM it is given, else the path compiled into the binary,
// which git tells by naming it to an editor (`git config --system --edit`
// with an editor that prints its argument). That path is learnt once per
// binary: `--show-origin --list` names the file only when it holds a
// setting, and an empty one that gains a hooksPath must still change the
// key.
func (c *gitConfigCache) systemConfig(ctx context.Context, git string, bin fileStamp, env map[string]string) (string, bool) {
	if v, ok := env["GIT_CONFIG_SYSTEM"]; ok {
		return v, true
	}
	c.mu.Lock()
	p, ok := c.system[bin]
	c.mu.Unlock()
	if ok {
		return p, true
	}
	ctx, cancel := context.WithTimeout(ctx, gitConfigTimeout)
	defer cancel()
	gitConfigExecs.Add(1)
	cmd := exec.CommandContext(ctx, git, "config", "--system", "--edit")
	cmd.Dir = "/"
	// printf is the shell's (git runs an editor with metacharacters
	// through /bin/sh), so no PATH is needed; no HOME, no global config.
	cmd.Env = []string{"GIT_EDITOR=printf '%s\\0'", "GIT_CEILING_DIRECTORIES=/", "GIT_CONFIG_NOSYSTEM=1"}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		return "", false
	}
	p, ok = strings.CutSuffix(stdout.String(), "\x00")
	if !ok || !strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.system == nil {
		c.system = map[fileStamp]string{}
	}
	if len(c.system) >= maxGitConfigCache {
		clear(c.system)
	}
	c.system[bin] = p
	return p, true
}
