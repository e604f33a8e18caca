package bottleinit

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// devices are the host device nodes a bottle gets: none of them reaches
// hardware or another process.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// openDevices opens the host's device nodes (as paths, never for I/O)
// before /dev is replaced, so they can be bound into the new one.
func openDevices() (map[string]int, error) {
	fds := map[string]int{}
	for _, d := range devices {
		fd, err := unix.Open("/dev/"+d, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			return nil, fmt.Errorf("fresh /dev: open /dev/%s: %w", d, err)
		}
		fds[d] = fd
	}
	return fds, nil
}

// freshDev mounts a tmpfs over /dev and fills it the way a container
// runtime does: the harmless devices bound from the host, a devpts of the
// bottle's own (so programs inside can open new terminals without seeing
// the host's), shm, and the usual symlinks.
func freshDev(fds map[string]int) error {
	if err := unix.Mount("tmpfs", "/dev", "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755"); err != nil {
		return fmt.Errorf("fresh /dev: %w", err)
	}
	for _, d := range devices {
		target := "/dev/" + d
		f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o666)
		if err != nil {
			return fmt.Errorf("fresh /dev: %w", err)
		}
		f.Close()
		if err := unix.Mount("/proc/self/fd/"+strconv.Itoa(fds[d]), target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("fresh /dev: bind %s: %w", d, err)
		}
	}
	for _, d := range []string{"pts", "shm"} {
		if err := os.Mkdir(filepath.Join("/dev", d), 0o755); err != nil {
			return fmt.Errorf("fresh /dev: %w", err)
		}
	}
	if err := unix.Mount("devpts", "/dev/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return fmt.Errorf("fresh /dev: devpts: %w", err)
	}
	if err := unix.Mount("tmpfs", "/dev/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
		return fmt.Errorf("fresh /dev: shm: %w", err)
	}
	links := map[string]string{"ptmx": "pts/ptmx", "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join("/dev", name)); err != nil {
			return fmt.Errorf("fresh /dev: %w", err)
		}
	}
	return nil
}
