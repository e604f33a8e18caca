// Command attacker runs inside a bottle and tries, with raw system calls,
// every way an agent could change a protected workdir path or put
// something in its place. It prints one line per attempt:
//
//	<path> <attack>: <error>     (the attack failed)
//	<path> <attack>: SUCCEEDED   (it did not)
//
// Usage: attacker WORKDIR PATH... (paths relative to WORKDIR).
// The protection tests build it statically and run it in both backends.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: attacker WORKDIR PATH...")
		os.Exit(2)
	}
	root := os.Args[1]
	if err := os.Chdir(root); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for _, rel := range os.Args[2:] {
		attack(rel)
	}
	report(".", "rename-workdir", unix.Rename(root, root+".moved"))
	reveal(root, os.Args[2:])
}

func report(rel, what string, err error) {
	if err == nil {
		fmt.Printf("%s %s: SUCCEEDED\n", rel, what)
		return
	}
	fmt.Printf("%s %s: %v\n", rel, what, err)
}

// payload is what a planted hook or config would do: create a marker the
// host test looks for. It never runs inside the bottle.
const payload = "#!/bin/sh\ntouch \"$BB_MARKER_DIR/planted-hook-ran\"\n"

func attack(rel string) {
	fi, statErr := os.Lstat(rel)
	isDir := statErr == nil && fi.IsDir()
	// Scratch files live beside the path, in the same (writable) folder
	// and so on the same mount: a refused rename is then refused for
	// being a mount point, not merely for crossing mounts.
	scratch := filepath.Join(filepath.Dir(rel), ".bb-scratch-"+strings.ReplaceAll(rel, "/", "_"))

	// Write in place, or create inside.
	if isDir {
		report(rel, "create-inside", writeFile(filepath.Join(rel, "post-checkout")))
		report(rel, "mkdir-inside", unix.Mkdir(filepath.Join(rel, "sub"), 0o755))
		report(rel, "symlink-inside", unix.Symlink("/bin/sh", filepath.Join(rel, "pre-commit")))
		if first := firstFile(rel); first != "" {
			report(rel, "write-existing-file", writeFile(first))
			report(rel, "hardlink-existing-file", unix.Link(first, scratch+"-hl"))
		}
	} else {
		report(rel, "write", writeFile(rel))
		report(rel, "truncate", unix.Truncate(rel, 0))
		report(rel, "hardlink-out", unix.Link(rel, scratch+"-hl"))
	}
	report(rel, "chmod", unix.Chmod(rel, 0o777))
	report(rel, "setxattr", unix.Setxattr(rel, "user.bb", []byte("x"), 0))

	// Delete and recreate.
	report(rel, "unlink", unix.Unlink(rel))
	report(rel, "rmdir", unix.Rmdir(rel))
	report(rel, "remove-all", os.RemoveAll(rel))

	// Rename it away, rename something over it, swap it.
	report(rel, "rename-aside", unix.Rename(rel, scratch+"-moved"))
	report(rel, "rename-to-root", unix.Rename(rel, ".bb-scratch-moved"))
	if isDir {
		_ = unix.Mkdir(scratch+"-dir", 0o755)
		_ = writeFile(filepath.Join(scratch+"-dir", "post-checkout"))
		report(rel, "rename-dir-over", unix.Rename(scratch+"-dir", rel))
		report(rel, "exchange-dir", unix.Renameat2(unix.AT_FDCWD, scratch+"-dir", unix.AT_FDCWD, rel, unix.RENAME_EXCHANGE))
	}
	_ = writeFile(scratch + "-file")
	report(rel, "rename-file-over", unix.Rename(scratch+"-file", rel))
	report(rel, "exchange-file", unix.Renameat2(unix.AT_FDCWD, scratch+"-file", unix.AT_FDCWD, rel, unix.RENAME_EXCHANGE))
	_ = unix.Symlink("/tmp", scratch+"-link")
	report(rel, "rename-symlink-over", unix.Rename(scratch+"-link", rel))
	report(rel, "symlink-at", unix.Symlink("/tmp", rel))

	// Rename a folder that holds it.
	for d := filepath.Dir(rel); d != "."; d = filepath.Dir(d) {
		report(d, "rename-parent-of-"+rel, unix.Rename(d, d+".moved"))
	}

	// Undo the mount that holds it.
	report(rel, "umount", unix.Unmount(rel, 0))
	report(rel, "umount-detach", unix.Unmount(rel, unix.MNT_DETACH))
	report(rel, "remount-rw", unix.Mount("", rel, "", unix.MS_REMOUNT|unix.MS_BIND, ""))
	if fd, err := unix.OpenTree(unix.AT_FDCWD, rel, 0); err == nil {
		report(rel, "setattr-rw", unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}))
		unix.Close(fd)
	}
}

// reveal tries to reach the workdir without its protection mounts: a
// copy of the workdir's mount without the mounts on top (a plain bind),
// then writes through it.
func reveal(root string, rels []string) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, root, unix.OPEN_TREE_CLONE)
	if err != nil {
		report(".", "clone-workdir-without-children", err)
		return
	}
	defer unix.Close(fd)
	for _, rel := range rels {
		target := rel
		if fi, err := os.Lstat(rel); err == nil && fi.IsDir() {
			target = filepath.Join(rel, "post-checkout")
		}
		f, err := unix.Openat(fd, target, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_NOFOLLOW, 0o755)
		if err == nil {
			unix.Close(f)
		}
		report(rel, "write-through-clone", err)
	}
}

func writeFile(p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	_, err = f.WriteString(payload)
	return errors.Join(err, f.Close())
}

// firstFile returns a regular file inside dir, if any.
func firstFile(dir string) string {
	var found string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			found = p
			return filepath.SkipAll
		}
		return nil
	})
	return found
}
