package bottleinit

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// protect mounts each path of p over itself, read-only or as an anchor,
// after the workdir is bound. Nothing is resolved through a symlink: each
// path is opened beneath the workdir with RESOLVE_NO_SYMLINKS, and the
// mount is cloned from and moved onto that very file (open_tree and
// move_mount on the descriptor), so a path swapped for a link between the
// owner's check and this mount makes the launch fail instead of protecting
// something else. The read-only flag is set on the detached copy, before
// it is attached: there is no moment at which it is mounted writable.
func protect(p *Protect) error {
	root, err := unix.Open(p.Root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("protect workdir %s: %w", p.Root, err)
	}
	defer unix.Close(root)
	for _, pp := range p.Paths {
		if err := protectPath(root, pp); err != nil {
			return fmt.Errorf("protect %s in workdir %s: %w", pp.Path, p.Root, err)
		}
	}
	return nil
}

func protectPath(root int, pp ProtectedPath) error {
	fd, err := unix.Openat2(root, pp.Path, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer unix.Close(fd)
	tree, err := unix.OpenTree(fd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("clone: %w", err)
	}
	defer unix.Close(tree)
	if pp.ReadOnly {
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
			return fmt.Errorf("make read-only: %w", err)
		}
	}
	if err := unix.MoveMount(tree, "", fd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount: %w", err)
	}
	return nil
}
