//go:build linux

package beneath

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"syscall"

	"golang.org/x/sys/unix"
)

// Dir is a folder opened for reading beneath it.
type Dir struct {
	fd   int
	name string
}

// Open opens the folder at path. With followLast the last element may be
// a symlink to a folder (a folder the operator linked into the home);
// without, a symlink there is refused too. The elements before the last
// are resolved as usual: they name the place, not what is read beneath it.
func Open(p string, followLast bool) (*Dir, error) {
	flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	if !followLast {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Open(p, flags, 0)
	if err != nil {
		if fi, lerr := os.Lstat(p); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 && !followLast {
			err = ErrSymlink
		}
		return nil, &Error{Path: p, Err: mapErrno(err)}
	}
	return &Dir{fd: fd, name: p}, nil
}

// Name is the path the folder was opened as (for messages).
func (d *Dir) Name() string { return d.name }

// Close releases the folder.
func (d *Dir) Close() error { return unix.Close(d.fd) }

// openat opens rel beneath fd: no symlink, no "..", no magic link.
func openat(fd int, rel string, flags int) (int, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_NOFOLLOW | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	for range 16 {
		nfd, err := unix.Openat2(fd, rel, &how)
		// EAGAIN: a rename raced the resolution; the kernel asks to retry.
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if err != nil {
			return -1, mapErrno(err)
		}
		return nfd, nil
	}
	return -1, fmt.Errorf("%w: the folder kept changing while it was read", unix.EAGAIN)
}

func mapErrno(err error) error {
	switch err {
	case unix.ELOOP:
		return ErrSymlink
	case unix.EXDEV:
		return ErrEscapes
	case unix.ENOSYS, unix.EPERM: // EPERM: a seccomp filter that refuses openat2
		return fmt.Errorf("%w (%v)", ErrUnsupported, err)
	case unix.ENXIO: // a socket
		return ErrNotRegular
	}
	return err
}

// OpenDir opens the folder rel beneath d.
func (d *Dir) OpenDir(rel string) (*Dir, error) {
	fd, err := openat(d.fd, rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err == unix.ENOTDIR && isSymlink(d.fd, rel) {
		err = ErrSymlink // O_DIRECTORY answers a final symlink with ENOTDIR
	}
	if err != nil {
		return nil, &Error{Path: rel, Err: err}
	}
	return &Dir{fd: fd, name: path.Join(d.name, rel)}, nil
}

// isSymlink reports whether rel beneath fd is itself a symlink.
func isSymlink(fd int, rel string) bool {
	pfd, err := openat(fd, rel, unix.O_PATH)
	if err != nil {
		return false
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	return unix.Fstat(pfd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// Names lists the entries of d, sorted (nothing is opened).
func (d *Dir) Names() ([]string, error) {
	return readNames(d.fd)
}

func readNames(fd int) ([]string, error) {
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "dir")
	defer f.Close()
	// A fresh description shares the offset with fd: rewind, so a second
	// listing of the same folder sees every entry again.
	if _, err := unix.Seek(dup, 0, io.SeekStart); err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// ReadFile reads the regular file rel beneath d, bounded by lim.
func (d *Dir) ReadFile(rel string, lim Limits) ([]byte, error) {
	fd, err := openat(d.fd, rel, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
	if err != nil {
		return nil, &Error{Path: rel, Err: err}
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	data, _, err := readRegular(f, lim, lim.maxFile())
	if err != nil {
		return nil, &Error{Path: rel, Err: err}
	}
	return data, nil
}

func (lim Limits) maxFile() int64 {
	if lim.MaxFileBytes > 0 {
		return lim.MaxFileBytes
	}
	return DefaultMaxFileBytes
}

// readRegular checks that f is a regular file (and, with RefuseHardLinks,
// has one link) and reads at most max bytes of it.
func readRegular(f *os.File, lim Limits, max int64) ([]byte, os.FileMode, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, ErrNotRegular
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); lim.RefuseHardLinks && (!ok || st.Nlink > 1) {
		return nil, 0, ErrHardLink
	}
	if fi.Size() > max {
		return nil, 0, fmt.Errorf("%w: %d bytes, more than %d", ErrTooLarge, fi.Size(), max)
	}
	// The size can grow between the stat and the read: read one byte more
	// than allowed to notice.
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, 0, err
	}
	if int64(len(data)) > max {
		return nil, 0, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	return data, fi.Mode(), nil
}

// Walk reads every regular file in the tree below d, in a stable order
// (sorted by path), refusing whatever Limits and the package rules refuse:
// the first refusal ends the walk and names the path.
func (d *Dir) Walk(lim Limits) ([]File, error) {
	w := &walker{lim: lim}
	if err := w.walk(d.fd, "", 0); err != nil {
		return nil, err
	}
	return w.files, nil
}

type walker struct {
	lim     Limits
	files   []File
	entries int
	total   int64
}

func (w *walker) walk(fd int, prefix string, depth int) error {
	names, err := readNames(fd)
	if err != nil {
		return &Error{Path: orDot(prefix), Err: err}
	}
	for _, name := range names {
		rel := path.Join(prefix, name)
		if !CheckName(name) {
			return &Error{Path: rel, Err: ErrBadName}
		}
		w.entries++
		if w.lim.MaxEntries > 0 && w.entries > w.lim.MaxEntries {
			return &Error{Path: orDot(prefix), Err: fmt.Errorf("%w: more than %d files and folders", ErrTooLarge, w.lim.MaxEntries)}
		}
		if err := w.entry(fd, name, rel, depth); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) entry(parent int, name, rel string, depth int) error {
	cfd, err := openat(parent, name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
	if err != nil {
		return &Error{Path: rel, Err: err}
	}
	f := os.NewFile(uintptr(cfd), rel)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return &Error{Path: rel, Err: err}
	}
	if fi.IsDir() {
		if w.lim.MaxDepth > 0 && depth+1 > w.lim.MaxDepth {
			return &Error{Path: rel, Err: fmt.Errorf("%w: folders nested deeper than %d", ErrTooLarge, w.lim.MaxDepth)}
		}
		return w.walk(cfd, rel, depth+1)
	}
	max := w.lim.maxFile()
	if w.lim.MaxTotalBytes > 0 {
		max = min(max, w.lim.MaxTotalBytes-w.total)
	}
	data, mode, err := readRegular(f, w.lim, max)
	if err != nil {
		if errors.Is(err, ErrTooLarge) && w.lim.MaxTotalBytes > 0 && max < w.lim.maxFile() {
			err = fmt.Errorf("%w: the files together are more than %d bytes", ErrTooLarge, w.lim.MaxTotalBytes)
		}
		return &Error{Path: rel, Err: err}
	}
	w.total += int64(len(data))
	w.files = append(w.files, File{Path: rel, Data: data, Exec: mode&0o100 != 0})
	return nil
}

func orDot(p string) string {
	if p == "" {
		return "."
	}
	return p
}
