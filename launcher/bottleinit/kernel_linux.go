package bottleinit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// The kernel surface of a local bottle is the one runc and Docker give a
// container. A bottle's root may own its namespaces, but the knobs below
// are global: /proc/sys/kernel/core_pattern names a program the host runs
// as root when anything crashes, sysrq-trigger reboots the machine, and
// much of /sys writes to hardware and to the host's kernel.

// readonlyProc are bound onto themselves read-only.
var readonlyProc = []string{
	"/proc/bus",
	"/proc/fs",
	"/proc/irq",
	"/proc/sys",
	"/proc/sysrq-trigger",
}

// maskedPaths are covered: files by /dev/null, folders by an empty
// read-only tmpfs. They hold kernel memory, other users' keys and timing
// data about the host.
var maskedPaths = []string{
	"/proc/acpi",
	"/proc/asound",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/sys/firmware",
	"/sys/devices/virtual/powercap",
}

// kernelSurface gives the bottle a read-only sysfs of its own network
// namespace (the host's interfaces, and the hardware knobs, are not in it)
// and locks down the fresh /proc. null is an O_PATH descriptor of a
// /dev/null taken before /dev was replaced.
func kernelSurface(null int) error {
	if err := unix.Mount("sysfs", "/sys", "sysfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount a read-only sysfs of the bottle's network: %w", err)
	}
	for _, p := range readonlyProc {
		if err := readonlyBind(p); err != nil {
			return err
		}
	}
	for _, p := range maskedPaths {
		if err := maskPath(p, null); err != nil {
			return err
		}
	}
	return nil
}

// readonlyBind makes the tree at p read-only for the bottle; the bind
// mount is locked for the command, which cannot remount it.
func readonlyBind(p string) error {
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("read-only %s: %w", p, err)
	}
	const flags = unix.MS_REMOUNT | unix.MS_BIND | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	if err := unix.Mount("", p, "", flags, ""); err != nil {
		return fmt.Errorf("read-only %s: remount: %w", p, err)
	}
	return nil
}

// maskPath hides p: a file behind /dev/null, a folder behind an empty
// read-only tmpfs. A path this kernel does not have is nothing to hide.
func maskPath(p string, null int) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mask %s: %w", p, err)
	}
	if fi.IsDir() {
		if err := unix.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=0,mode=0555"); err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
		return nil
	}
	if err := unix.Mount(fdPath(null), p, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("mask %s: %w", p, err)
	}
	return nil
}
