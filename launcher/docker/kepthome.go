package docker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
	"golang.org/x/sys/unix"
)

// A bind's root in mountinfo is its source's path, so a kept home handed
// to Docker as a bind names the bot-bottle home to the bottle, and takes
// no nosuid or nodev (the Engine API has none for a bind). A root owner
// mounts it instead as the netns backend's init does: an overlay from
// descriptors (bottleinit.KeptHomeMount, nosuid and nodev), attached at a
// private path of the run folder that Docker binds; a bind takes the flags
// of the mount it binds, and its root is the overlay's own. Like the
// workdir's, the host-side mount is detached once the container runs.

// keptHomeMountName is that private path's name in the run folder.
const keptHomeMountName = "kept-home"

// hostKeptHome mounts the kept home at root/home and returns the path,
// with what the person should know: on a kernel that cannot make the
// overlay, the home is cloned as a nosuid,nodev bind, which shows its
// host path (bottleinit.KeptHomeBoundWarning).
func hostKeptHome(root, home string) (path string, warnings []string, err error) {
	target := filepath.Join(root, keptHomeMountName)
	if err := os.Mkdir(target, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", nil, fmt.Errorf("kept home mount: %w", err)
	}
	m, err := bottleinit.KeptHomeMount(home, -1, 0, 0)
	if bottleinit.KeptHomeFallback(err) {
		warnings = append(warnings, bottleinit.KeptHomeBoundWarning)
		m, err = boundHome(home)
	}
	if err != nil {
		return "", nil, err
	}
	defer unix.Close(m)
	if err := unix.MoveMount(m, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return "", nil, fmt.Errorf("kept home %s: attach at %s: %w", home, target, err)
	}
	_ = unix.Mount("", target, "", unix.MS_REC|unix.MS_PRIVATE, "")
	return target, warnings, nil
}

// boundHome clones the kept home as a detached nosuid,nodev mount.
func boundHome(home string) (int, error) {
	tree, err := unix.OpenTree(unix.AT_FDCWD, home, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("kept home %s: clone the mount: %w", home, err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		unix.Close(tree)
		return -1, fmt.Errorf("kept home %s: mount nosuid,nodev: %w", home, err)
	}
	return tree, nil
}
