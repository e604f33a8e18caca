package docker

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// The Engine API has no nosuid for a bind mount. A root owner mounts the
// workdir itself, nosuid and nodev (and idmapped when the container's user
// stands for root), at a private path of the run folder, and hands that
// to Docker: a bind takes the flags of the mount it binds. The host-side
// mount is detached as soon as the container runs (the container keeps its
// own), so no removal of the run folder can reach into the workdir.

// workdirMountName is that private path's name in the run folder.
const workdirMountName = "workdir"

// hostWorkdir mounts workdir at root/workdir with those flags and returns
// the path. The init binary exe holds the user namespace of an idmap; gofer
// says the container's files are written by runsc's gofer, as root (see
// idmapNamespace).
func hostWorkdir(root, workdir, exe string, user runAs, gofer bool) (string, error) {
	target := filepath.Join(root, workdirMountName)
	if err := os.Mkdir(target, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("workdir mount: %w", err)
	}
	tree, err := unix.OpenTree(unix.AT_FDCWD, workdir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return "", fmt.Errorf("workdir %s: clone the mount: %w", workdir, err)
	}
	defer unix.Close(tree)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if user.idmap {
		ns, err := idmapNamespace(exe, user, gofer)
		if err != nil {
			return "", err
		}
		defer unix.Close(ns)
		attr.Attr_set |= unix.MOUNT_ATTR_IDMAP
		attr.Userns_fd = uint64(ns)
	}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		if user.idmap {
			return "", fmt.Errorf("workdir %s is root's and the container runs as uid %d: it must be mounted idmapped to keep its files root's, "+
				"which this kernel or filesystem refuses (%w): chown the workdir to the user the bottle should write as, or use --backend local", workdir, user.uid, err)
		}
		return "", fmt.Errorf("workdir %s: mount nosuid,nodev: %w", workdir, err)
	}
	if err := unix.MoveMount(tree, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return "", fmt.Errorf("workdir %s: attach at %s: %w", workdir, target, err)
	}
	// Nothing mounted later under it reaches the host's other namespaces.
	_ = unix.Mount("", target, "", unix.MS_REC|unix.MS_PRIVATE, "")
	return target, nil
}

// detachHostMount unmounts a host-side mount made for the container (the
// workdir, the kept home), if there is one.
func detachHostMount(path string) {
	if path != "" {
		_ = unix.Unmount(path, unix.MNT_DETACH)
	}
}

// usernsRoot keeps the idmap user namespaces, one per container user, as
// nsfs bind mounts, so only the first launch for a user starts a process to
// make one (the machine's root alone can open them).
var usernsRoot = "/run/bot-bottle/userns"

// idmapNamespace returns a user namespace that maps 0 to the container's
// user: an idmapped mount with it shows root's files as that user's, and
// makes that user's new files root's on disk.
//
// Under runsc (gofer) the files are not written by the container's
// processes but by gVisor's gofer, a host process running as root that
// creates each file and then gives it to the sandbox user who asked. Root
// has no id on a mount that maps only the user (creating fails with
// EOVERFLOW), so that namespace also maps the user to 0: the gofer's new
// file is briefly the user's on disk, and the chown to the sandbox user
// makes it root's, as under runc. The only other effect, a host file of
// that user showing as root's inside, gives the bottle nothing.
func idmapNamespace(exe string, user runAs, gofer bool) (int, error) {
	keep := filepath.Join(usernsRoot, user.String())
	if gofer {
		keep += "+gofer"
	}
	if fd, err := unix.Open(keep, unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
		var sfs unix.Statfs_t
		if unix.Fstatfs(fd, &sfs) == nil && sfs.Type == unix.NSFS_MAGIC {
			return fd, nil
		}
		unix.Close(fd)
	}
	fd, err := newIdmapNamespace(exe, user, gofer)
	if err != nil {
		return -1, err
	}
	// Keep it for the next launch; a failure only costs that launch a
	// process.
	if os.MkdirAll(usernsRoot, 0o700) == nil {
		if f, err := os.OpenFile(keep, os.O_CREATE|os.O_RDONLY, 0o600); err == nil {
			f.Close()
			_ = unix.Mount(fmt.Sprintf("/proc/self/fd/%d", fd), keep, "", unix.MS_BIND, "")
		}
	}
	return fd, nil
}

// newIdmapNamespace makes that user namespace. It needs a process: the
// init binary holds it until its input closes.
func newIdmapNamespace(exe string, user runAs, gofer bool) (int, error) {
	bin, err := os.Open(exe)
	if err != nil {
		return -1, fmt.Errorf("idmap: %w", err)
	}
	defer bin.Close()
	cmd := exec.Command("/proc/self/fd/3", "bottle-init", "--hold")
	cmd.Args[0] = "bot-bottle"
	cmd.ExtraFiles = []*os.File{bin}
	cmd.Env = []string{}
	cmd.Dir = "/"
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return -1, fmt.Errorf("idmap: %w", err)
	}
	uids := []syscall.SysProcIDMap{{ContainerID: 0, HostID: user.uid, Size: 1}}
	gids := []syscall.SysProcIDMap{{ContainerID: 0, HostID: user.gid, Size: 1}}
	if gofer {
		uids = append(uids, syscall.SysProcIDMap{ContainerID: user.uid, HostID: 0, Size: 1})
		gids = append(gids, syscall.SysProcIDMap{ContainerID: user.gid, HostID: 0, Size: 1})
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER,
		UidMappings:                uids,
		GidMappings:                gids,
		GidMappingsEnableSetgroups: true,
		Pdeathsig:                  syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("idmap: start a user namespace: %w", err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	ns, err := unix.Open("/proc/"+strconv.Itoa(cmd.Process.Pid)+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("idmap: open the user namespace: %w", err)
	}
	return ns, nil
}
