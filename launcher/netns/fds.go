package netns

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
	"golang.org/x/sys/unix"
)

// extraFiles are the descriptors the init inherits, fd 3 onwards.
type extraFiles struct{ files []*os.File }

// add passes f to the init and returns its number there.
func (e *extraFiles) add(f *os.File) int {
	e.files = append(e.files, f)
	return 2 + len(e.files)
}

// openPath passes an O_PATH descriptor of path: enough to connect to a
// socket or bind a folder, nothing to read or write with.
func (e *extraFiles) openPath(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	return e.add(os.NewFile(uintptr(fd), path)), nil
}

// openExe passes the bot-bottle binary and returns the path that executes
// it through the descriptor: the bottle's root may be an id that cannot
// walk to where the binary lives (root's home), and the init's command
// line shows no host path.
func (e *extraFiles) openExe(exe string) (string, error) {
	f, err := os.Open(exe)
	if err != nil {
		return "", fmt.Errorf("local backend: the bot-bottle binary: %w", err)
	}
	return "/proc/self/fd/" + strconv.Itoa(e.add(f)), nil
}

// close closes the owner's copies once the init has its own.
func (e *extraFiles) close() {
	for _, f := range e.files {
		_ = f.Close()
	}
}

func socketPair() (owner, init *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socket pair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "owner"), os.NewFile(uintptr(fds[1]), "init"), nil
}

// hostBind is a bind source the owner opens for a root owner's bottle.
type hostBind struct {
	source   string
	readOnly bool
	idmap    bool
	// kept marks the kept agent home, mounted as an overlay rather than
	// a bind (bottleinit.KeptHomeMount).
	kept bool
}

// sendMounts clones each source as a detached mount (recursive, nosuid,
// nodev, read-only where asked, idmapped to the bottle's user namespace
// where asked), or mounts the kept home as an overlay, and sends it to the
// init, in order. uid:gid is the bottle's root on the host. It returns
// what the person should know: the kept home bound instead, on a kernel
// that cannot make its overlay.
func sendMounts(pid, uid, gid int, binds []hostBind, sock *os.File) (warnings []string, err error) {
	userns := -1
	defer func() {
		if userns >= 0 {
			unix.Close(userns)
		}
	}()
	for _, b := range binds {
		if b.idmap && userns < 0 {
			var err error
			if userns, err = unix.Open(fmt.Sprintf("/proc/%d/ns/user", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
				return nil, fmt.Errorf("bind %s: the bottle's user namespace: %w", b.source, err)
			}
		}
		if b.kept {
			ns := -1
			if b.idmap {
				ns = userns
			}
			m, err := bottleinit.KeptHomeMount(b.source, ns, uid, gid)
			if err == nil {
				err = bottleinit.SendFD(int(sock.Fd()), m)
				unix.Close(m)
				if err != nil {
					return nil, fmt.Errorf("kept home %s: send the mount to the init: %w", b.source, err)
				}
				continue
			}
			if !bottleinit.KeptHomeFallback(err) {
				return nil, err
			}
			// An older kernel: bound, as before, and said.
			warnings = append(warnings, bottleinit.KeptHomeBoundWarning)
		}
		tree, err := unix.OpenTree(unix.AT_FDCWD, b.source, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
		if err != nil {
			return nil, fmt.Errorf("bind %s: clone the mount: %w", b.source, err)
		}
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
		if b.readOnly {
			attr.Attr_set |= unix.MOUNT_ATTR_RDONLY
		}
		if b.idmap {
			attr.Attr_set |= unix.MOUNT_ATTR_IDMAP
			attr.Userns_fd = uint64(userns)
		}
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			unix.Close(tree)
			if b.idmap {
				return nil, idmapError(b.source, err)
			}
			return nil, fmt.Errorf("bind %s: set nosuid, nodev: %w", b.source, err)
		}
		err = bottleinit.SendFD(int(sock.Fd()), tree)
		unix.Close(tree)
		if err != nil {
			return nil, fmt.Errorf("bind %s: send the mount to the init: %w", b.source, err)
		}
	}
	return warnings, nil
}

// idmapError says why a root-owned workdir could not be idmapped, and what
// to do: the bottle refuses to run as host root instead.
func idmapError(source string, err error) error {
	fstype := "unknown"
	var sfs unix.Statfs_t
	if unix.Statfs(source, &sfs) == nil {
		fstype = fmt.Sprintf("%#x", sfs.Type)
	}
	why := err.Error()
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS) {
		why = "this kernel or the workdir's filesystem (magic " + fstype + ") cannot make idmapped mounts (Linux 5.12+; ext4, xfs, btrfs, tmpfs 6.3+, overlayfs 5.19+): " + why
	}
	return fmt.Errorf("workdir %s: a root owner's bottle runs as an unprivileged id and needs the workdir idmapped to keep its files root's: %s; "+
		"run bot-bottle as the user who owns the workdir (or chown the workdir to a user), or use --backend docker", source, why)
}
