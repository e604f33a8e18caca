package bottleinit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// A bind mount's root in mountinfo is its source's path in the source's
// filesystem, so a bottle that reads /proc/self/mountinfo learns where on
// the host anything bound into it lives. The workdir keeps its host path
// anyway; the kept agent home must not name the bot-bottle home. So the
// kept home is mounted as the upper layer of an overlay (a filesystem of
// its own, whose root is the home) over an empty tmpfs: the bottle reads
// and writes the kept files as before, and the overlay's options name its
// layers by their paths inside detached mounts, which say nothing of the
// host. A root owner makes it (idmapped) and sends it; otherwise the init
// makes it in its own user namespace.

// ErrKeptOverlayUnsupported is KeptHomeMount's answer where the kernel
// cannot make the overlay: no overlayfs (or none in a user namespace), or
// layers not taken as descriptors (before Linux 6.13). The caller binds
// the kept home instead, whose mountinfo names its host path, as before.
var ErrKeptOverlayUnsupported = errors.New("this kernel cannot mount the kept home as an overlay from descriptors (Linux 6.13+)")

// ErrKeptHomeInUse is KeptHomeMount's answer where another overlay uses
// the kept home as its upper layer (overlayfs refuses an upper layer in
// use). The launcher's lock keeps two of its bottles from taking one kept
// home, so this is a holder it does not know of: the launch is refused
// rather than share the home or bind it (which shows its host path).
var ErrKeptHomeInUse = errors.New("the kept home is another overlay's upper layer (a bottle this launcher's lock does not know of)")

// KeptHomeFallback reports whether err from KeptHomeMount means "bind the
// kept home instead" (this kernel cannot make the overlay) rather than
// "refuse the launch". The bind shows the home's host path in the
// bottle's mountinfo: the caller says so (KeptHomeBoundWarning).
func KeptHomeFallback(err error) bool {
	return errors.Is(err, ErrKeptOverlayUnsupported)
}

// KeptHomeBoundWarning is what the person is told when the kept home is
// bound, not mounted as an overlay.
const KeptHomeBoundWarning = "the kept agent home is bound, so its host path shows in the bottle's /proc/self/mountinfo: this kernel cannot mount it as an overlay (Linux 6.13+ hides it)"

// KeptWorkDir is overlayfs's scratch folder for the kept home at home: on
// the same filesystem, beside it.
func KeptWorkDir(home string) string {
	return filepath.Join(filepath.Dir(home), "."+filepath.Base(home)+".work")
}

// KeptHomeMount returns a detached overlay mount of the kept home at home
// (nosuid, nodev). When userns >= 0 its layer is idmapped to that user
// namespace, whose root is host uid:gid, and the overlay is created with
// that filesystem id: overlayfs works in its layers as its creator, and an
// idmapped layer has no mapping for host root.
func KeptHomeMount(home string, userns, uid, gid int) (int, error) {
	parent, name := filepath.Dir(home), filepath.Base(home)
	work := KeptWorkDir(home)
	if err := os.Mkdir(work, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return -1, fmt.Errorf("kept home %s: overlay work folder: %w", home, err)
	}
	if fi, err := os.Lstat(work); err != nil || !fi.IsDir() {
		return -1, fmt.Errorf("kept home %s: overlay work folder %s is not a folder (remove it)", home, work)
	}
	// One detached clone holds both upper and work (overlayfs wants them
	// on one mount); paths inside it start at the kept homes' folder.
	tree, err := unix.OpenTree(unix.AT_FDCWD, parent, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("kept home %s: clone the mount: %w", home, err)
	}
	defer unix.Close(tree)
	if userns >= 0 {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns)}
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
			return -1, fmt.Errorf("kept home %s: idmap it to the bottle's user namespace: %w", home, err)
		}
	}
	// fsconfig takes layers as open files, not O_PATH descriptors.
	dirFlags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	upper, err := unix.Openat(tree, name, dirFlags, 0)
	if err != nil {
		return -1, fmt.Errorf("kept home %s: %w", home, err)
	}
	defer unix.Close(upper)
	workFD, err := unix.Openat(tree, filepath.Base(work), dirFlags, 0)
	if err != nil {
		return -1, fmt.Errorf("kept home %s: overlay work folder: %w", home, err)
	}
	defer unix.Close(workFD)
	lowerMount, lower, err := emptyDir()
	if err != nil {
		return -1, fmt.Errorf("kept home %s: %w", home, err)
	}
	defer unix.Close(lowerMount)
	defer unix.Close(lower)
	ctx, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EPERM) {
		return -1, fmt.Errorf("kept home %s: overlayfs: %w: %w", home, ErrKeptOverlayUnsupported, err)
	}
	if err != nil {
		return -1, fmt.Errorf("kept home %s: overlayfs: %w", home, err)
	}
	defer unix.Close(ctx)
	steps := []struct {
		what string
		do   func() error
	}{
		{"source", func() error { return unix.FsconfigSetString(ctx, "source", "bot-bottle-home") }},
		{"lower layer", func() error { return unix.FsconfigSetFd(ctx, "lowerdir+", lower) }},
		{"upper layer", func() error { return unix.FsconfigSetFd(ctx, "upperdir", upper) }},
		{"work folder", func() error { return unix.FsconfigSetFd(ctx, "workdir", workFD) }},
		{"create", func() error {
			if userns < 0 {
				return unix.FsconfigCreate(ctx)
			}
			return asFilesystemID(uid, gid, func() error { return unix.FsconfigCreate(ctx) })
		}},
	}
	for i, s := range steps {
		err := s.do()
		if err != nil && i == len(steps)-1 && (errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EBUSY)) {
			return -1, fmt.Errorf("kept home %s: overlayfs %s: %w: %w", home, s.what, ErrKeptHomeInUse, err)
		}
		if err != nil && i < len(steps)-1 && errors.Is(err, unix.EINVAL) {
			return -1, fmt.Errorf("kept home %s: overlayfs %s: %w: %w", home, s.what, ErrKeptOverlayUnsupported, err)
		}
		if err != nil {
			return -1, fmt.Errorf("kept home %s: overlayfs %s: %w", home, s.what, err)
		}
	}
	m, err := unix.Fsmount(ctx, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return -1, fmt.Errorf("kept home %s: mount the overlay: %w", home, err)
	}
	return m, nil
}

// emptyDir returns a fresh, read-only, empty tmpfs as a detached mount and
// its root opened: the kept home's overlay needs a lower layer, and this
// one holds nothing. The mount descriptor must stay open until the
// overlay is made: closing the last one dissolves a detached mount.
func emptyDir() (mount, root int, err error) {
	ctx, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, -1, fmt.Errorf("empty lower layer: %w", err)
	}
	defer unix.Close(ctx)
	for _, kv := range [][2]string{{"mode", "0755"}, {"size", "4k"}} {
		if err := unix.FsconfigSetString(ctx, kv[0], kv[1]); err != nil {
			return -1, -1, fmt.Errorf("empty lower layer: %s: %w", kv[0], err)
		}
	}
	if err := unix.FsconfigCreate(ctx); err != nil {
		return -1, -1, fmt.Errorf("empty lower layer: %w", err)
	}
	m, err := unix.Fsmount(ctx, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return -1, -1, fmt.Errorf("empty lower layer: %w", err)
	}
	fd, err := unix.Openat(m, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(m)
		return -1, -1, fmt.Errorf("empty lower layer: %w", err)
	}
	return m, fd, nil
}

// asFilesystemID runs fn on a locked thread whose filesystem uid and gid
// are uid and gid, with its capabilities kept (overlayfs makes its work
// folders mode 0 and relies on DAC override, which setfsuid drops), and
// then gives the thread back as it was. The thread must not exit instead:
// a bottle's init dies with the thread that started it (Pdeathsig), and
// the runtime may have started it from this one. A thread whose ids could
// not be put back is parked for good.
func asFilesystemID(uid, gid int, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var caps [2]unix.CapUserData
		if err := unix.Capget(&hdr, &caps[0]); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("capabilities: %w", err)
			return
		}
		oldGID, _ := unix.SetfsgidRetGid(gid)
		oldUID, _ := unix.SetfsuidRetUid(uid)
		err := unix.Capset(&hdr, &caps[0])
		if err == nil {
			err = fn()
		} else {
			err = fmt.Errorf("capabilities: %w", err)
		}
		unix.SetfsuidRetUid(oldUID)
		unix.SetfsgidRetGid(oldGID)
		restored := unix.Capset(&hdr, &caps[0]) == nil
		// setfsuid(-1) changes nothing and returns the current id.
		if u, _ := unix.SetfsuidRetUid(-1); u != oldUID {
			restored = false
		}
		if g, _ := unix.SetfsgidRetGid(-1); g != oldGID {
			restored = false
		}
		done <- err
		if !restored {
			select {}
		}
		runtime.UnlockOSThread()
	}()
	return <-done
}

// KeptOverlayExpected reports whether this kernel is new enough to mount
// the kept home as an overlay from descriptors (Linux 6.13+). A non-root
// owner's init makes the overlay itself, out of the owner's sight: the
// owner uses this to say, before the launch, that the home will be bound.
// It cannot see a kernel built without overlayfs in user namespaces.
func KeptOverlayExpected() bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return true // no guess: say nothing rather than something false
	}
	return kernelAtLeast(unix.ByteSliceToString(u.Release[:]), 6, 13)
}

// kernelAtLeast reports whether a kernel release ("6.12.8-arch1") is
// major.minor or later; an unreadable one is taken as new enough.
func kernelAtLeast(release string, major, minor int) bool {
	var ma, mi int
	if n, _ := fmt.Sscanf(release, "%d.%d", &ma, &mi); n != 2 {
		return true
	}
	return ma > major || ma == major && mi >= minor
}
