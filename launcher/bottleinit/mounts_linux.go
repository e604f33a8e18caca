package bottleinit

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// setupMounts builds the local backend's view of the filesystem in the
// bottle's own mount namespace. The order matters:
//  1. stop mount events propagating back to the host;
//  2. take every bind source while it is still visible: opened by path,
//     inherited as a descriptor, or received from the owner as a detached
//     mount;
//  3. a fresh /proc, so the bottle sees its own pid namespace only, and the
//     kernel surface of a container (kernelSurface);
//  4. with ReadonlyRoot, every inherited mount read-only;
//  5. a fresh /dev with the harmless devices only (the host's /dev has the
//     raw disks, which root could read around every hidden folder);
//  6. an empty tmpfs over each hidden folder and /dev/null over each
//     hidden file, parents first;
//  7. the binds, at their targets (created inside the tmpfs when hidden),
//     nosuid and nodev;
//  8. the workdir's protected paths, over themselves (protect_linux.go);
//  9. the files, inside the hiding tmpfs.
func setupMounts(m *Mounts) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	var devs map[string]int
	if m.FreshDev {
		var err error
		if devs, err = openDevices(); err != nil {
			return err
		}
		defer func() {
			for _, fd := range devs {
				unix.Close(fd)
			}
		}()
	}
	null, err := unix.Open("/dev/null", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev/null: %w", err)
	}
	defer unix.Close(null)
	sources := make([]int, len(m.Binds))
	detached := make([]bool, len(m.Binds))
	for i, b := range m.Binds {
		fd, det, err := bindSource(m, b)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		sources[i], detached[i] = fd, det
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount a fresh /proc: %w", err)
	}
	if err := kernelSurface(null); err != nil {
		return err
	}
	if m.ReadonlyRoot {
		if err := remountAllReadonly(); err != nil {
			return err
		}
	}
	if m.FreshDev {
		if err := freshDev(devs); err != nil {
			return err
		}
	}
	hide := slices.Clone(m.Hide)
	slices.SortFunc(hide, func(a, b string) int { return len(a) - len(b) })
	for _, p := range hide {
		if err := hidePath(p); err != nil {
			return err
		}
	}
	for i, b := range m.Binds {
		if err := bindFD(sources[i], detached[i], b); err != nil {
			return err
		}
	}
	if m.Protect != nil {
		if err := protect(m.Protect); err != nil {
			return err
		}
	}
	return writeMountFiles(m.Files)
}

// bindSource returns a descriptor of a bind's source: received from the
// owner, inherited, the kept home's overlay, or opened by path; detached
// when it is a mount of its own (received, or the overlay).
func bindSource(m *Mounts, b Bind) (fd int, detached bool, err error) {
	switch {
	case b.Received:
		fd, err := receiveFD(m.Receive)
		if err != nil {
			return -1, false, fmt.Errorf("bind at %s: receive the owner's mount: %w", b.Target, err)
		}
		return fd, true, nil
	case b.FD > 0:
		return b.FD, false, nil
	case b.Kept:
		fd, err := KeptHomeMount(b.Source, -1, 0, 0)
		if err == nil {
			return fd, true, nil
		}
		if !KeptHomeFallback(err) {
			return -1, false, fmt.Errorf("bind at %s: %w", b.Target, err)
		}
		// An older kernel: bound, as before; the owner says so
		// (KeptOverlayExpected).
	}
	fd, err = unix.Open(b.Source, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, false, fmt.Errorf("bind %s: open source: %w", b.Source, err)
	}
	return fd, false, nil
}

// writeMountFiles writes files the bottle reads at fixed paths (the CA),
// into a folder a hiding tmpfs covers.
func writeMountFiles(files []File) error {
	for _, f := range files {
		if !filepath.IsAbs(f.Path) {
			return fmt.Errorf("bottle file %q: not an absolute path", f.Path)
		}
		if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
			return fmt.Errorf("bottle file %s: %w", f.Path, err)
		}
		if err := os.WriteFile(f.Path, []byte(f.Content), fs.FileMode(f.Mode)&fs.ModePerm); err != nil {
			return fmt.Errorf("bottle file %s: %w", f.Path, err)
		}
	}
	return nil
}

// fdPath is the path of an open descriptor, for calls that take a path.
func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// hidePath covers a folder with an empty tmpfs and a file with /dev/null
// (read-only). A path that does not exist (or is already gone under an
// earlier tmpfs) has nothing to hide; a symlink is skipped because its
// target is hidden, or not, on its own.
func hidePath(p string) error {
	fi, err := os.Lstat(p)
	// A path the bottle cannot even look up (under a folder its unprivileged
	// root may not search) is out of its reach already.
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || (err == nil && fi.Mode()&fs.ModeSymlink != 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hide %s: %w", p, err)
	}
	if !fi.IsDir() {
		if err := unix.Mount("/dev/null", p, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("hide %s: %w", p, err)
		}
		flags, err := mountFlags(p)
		if err == nil {
			err = unix.Mount("", p, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|flags, "")
		}
		if err != nil {
			return fmt.Errorf("hide %s: read-only: %w", p, err)
		}
		return nil
	}
	if err := unix.Mount("tmpfs", p, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return fmt.Errorf("hide %s: mount tmpfs: %w", p, err)
	}
	return nil
}

// bindFD mounts the source at b.Target, then sets the bind's own flags:
// nosuid and nodev always (a setuid file in the workdir gives nothing in the
// bottle), read-write under a read-only root unless the bind is read-only.
// A detached source (received, or a kept home's overlay) is attached with
// move_mount.
func bindFD(fd int, detached bool, b Bind) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("bind at %s: %w", b.Target, err)
	}
	if err := makeTarget(b.Target, st.Mode&unix.S_IFMT == unix.S_IFDIR); err != nil {
		return fmt.Errorf("bind at %s: %w", b.Target, err)
	}
	if detached {
		if err := unix.MoveMount(fd, "", unix.AT_FDCWD, b.Target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return fmt.Errorf("bind at %s: attach the owner's mount: %w", b.Target, err)
		}
	} else if err := unix.Mount(fdPath(fd), b.Target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind at %s: %w", b.Target, err)
	}
	flags, err := mountFlags(b.Target)
	if err != nil {
		return fmt.Errorf("bind at %s: %w", b.Target, err)
	}
	flags &^= unix.MS_RDONLY
	flags |= unix.MS_NOSUID | unix.MS_NODEV
	if b.ReadOnly {
		flags |= unix.MS_RDONLY
	}
	if err := unix.Mount("", b.Target, "", unix.MS_REMOUNT|unix.MS_BIND|flags, ""); err != nil {
		return fmt.Errorf("bind at %s: remount: %w", b.Target, err)
	}
	return nil
}

// makeTarget creates a missing mount point: inside a hiding tmpfs the
// workdir's path does not exist until the init makes it.
func makeTarget(path string, dir bool) error {
	if _, err := os.Lstat(path); err == nil {
		return nil
	}
	if dir {
		return os.MkdirAll(path, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// remountAllReadonly makes every mount the bottle inherited read-only,
// except the kernel's own trees (/proc, /sys, /dev), which the bottle needs
// as they are (/dev/null, /dev/tty, ptys).
func remountAllReadonly() error {
	points, err := mountPoints()
	if err != nil {
		return fmt.Errorf("readonly root: %w", err)
	}
	for _, p := range points {
		if under(p, "/proc") || under(p, "/sys") || under(p, "/dev") {
			continue
		}
		flags, err := mountFlags(p)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.EACCES) {
			continue // shadowed by a later mount, or unreachable: nothing to write through
		}
		if err != nil {
			return fmt.Errorf("readonly root: %s: %w", p, err)
		}
		if err := unix.Mount("", p, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|flags, ""); err != nil {
			return fmt.Errorf("readonly root: remount %s: %w", p, err)
		}
	}
	return nil
}

// mountFlags returns the flags of the mount at path that a bind remount
// must repeat: the kernel refuses to drop nosuid, nodev, noexec or the atime
// mode of a mount inherited from a more privileged namespace.
func mountFlags(path string) (uintptr, error) {
	var sfs unix.Statfs_t
	if err := unix.Statfs(path, &sfs); err != nil {
		return 0, err
	}
	const keep = unix.ST_RDONLY | unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC |
		unix.ST_NOATIME | unix.ST_NODIRATIME | unix.ST_RELATIME | unix.ST_SYNCHRONOUS | unix.ST_MANDLOCK
	return uintptr(sfs.Flags) & keep, nil
}

// mountPoints lists the mount points of the init's mount namespace, in the
// kernel's order (parents before children).
func mountPoints() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		out = append(out, unescapeMountinfo(fields[4]))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return out, nil
}

// unescapeMountinfo decodes the octal escapes (\040 for a space) that
// mountinfo uses in paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// under reports whether path is dir or inside it.
func under(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}
