package launcher

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bot-bottle/bot-bottle/internal/atomicfile"
	"golang.org/x/sys/unix"
)

// A protected path that does not exist needs something to mount over, so
// the owner creates a placeholder (an empty folder, or an empty file inside
// a git folder) before the bottle starts, and removes it again when no
// bottle holds the workdir any more (see workdirlock.go). Placeholders are
// recorded in the home, $BOT_BOTTLE_HOME/placeholders/<hash of the
// workdir>.json, before the bottle starts, so that `bot-bottle cleanup`
// removes those of a crashed owner. A placeholder is removed only while it
// is still the very folder or file that was created (same device and
// inode) and still empty: what the operator put there meanwhile stays.

// placeholdersDirName is the folder of placeholder records in a home.
const placeholdersDirName = "placeholders"

// placeholderRecord lists the placeholders created in one workdir.
type placeholderRecord struct {
	Workdir string        `json:"workdir"`
	Entries []placeholder `json:"entries"`
}

// placeholder is one created path, relative to the workdir.
type placeholder struct {
	Path string `json:"path"`
	Dir  bool   `json:"dir"`
	Dev  uint64 `json:"dev"`
	Ino  uint64 `json:"ino"`
}

func placeholdersDir(home string) string { return filepath.Join(home, placeholdersDirName) }

func placeholderRecordPath(home, workdir string) string {
	sum := sha256.Sum256([]byte(workdir))
	return filepath.Join(placeholdersDir(home), hex.EncodeToString(sum[:12])+".json")
}

// recordsLockName is the file whose byte ranges lock the records, one
// range per workdir.
const recordsLockName = ".records.lock"

// withRecord runs fn holding the lock of workdir's placeholder record: a
// byte of the home's records lock file chosen by the workdir's hash (an
// open file description lock, so two goroutines of one process exclude
// each other too). Two workdirs that share a byte only take turns.
func withRecord(home, workdir string, fn func() error) error {
	f, err := openLockFile(home, recordsLockName)
	if err != nil {
		return err
	}
	defer f.Close() // drops the lock
	sum := sha256.Sum256([]byte(workdir))
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: int64(binary.BigEndian.Uint64(sum[:8]) >> 8), Len: 1}
	for {
		err = unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLKW, &lk)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("placeholders: lock the record of %s: %w", workdir, err)
	}
	return fn()
}

func readPlaceholderRecord(file string) (placeholderRecord, error) {
	var rec placeholderRecord
	data, err := os.ReadFile(file)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("placeholder record %s: %w", file, err)
	}
	return rec, nil
}

func writePlaceholderRecord(file string, rec placeholderRecord) error {
	if len(rec.Entries) == 0 {
		if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(file, data, 0o600)
}

// createPlaceholders creates the plan's missing paths and records them.
// The caller holds the workdir lock. A path that appeared meanwhile (another
// bottle's placeholder) is used as it is, after checking it is no symlink.
func createPlaceholders(home string, p *protectionPlan) error {
	todo := p.placeholders()
	if len(todo) == 0 {
		return nil
	}
	return withRecord(home, p.root, func() error {
		file := placeholderRecordPath(home, p.root)
		rec, err := readPlaceholderRecord(file)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		rec.Workdir = p.root
		var errs []error
		for _, rel := range todo {
			ph, created, err := p.createPlaceholder(rel, p.missing[rel] == placeholderDir)
			if err != nil {
				errs = append(errs, err)
				break
			}
			if created {
				rec.Entries = append(rec.Entries, ph)
			}
		}
		if err := writePlaceholderRecord(file, rec); err != nil {
			errs = append(errs, fmt.Errorf("placeholders: %w", err))
		}
		return errors.Join(errs...)
	})
}

// createPlaceholder makes rel (its folder exists) without following a
// symlink anywhere on the way.
func (p *protectionPlan) createPlaceholder(rel string, dir bool) (placeholder, bool, error) {
	fail := func(err error) (placeholder, bool, error) {
		return placeholder{}, false, fmt.Errorf("hold %s in workdir %s: %w", clean(rel), p.root, err)
	}
	parent, err := openBeneath(p.rootFD, path.Dir(rel))
	if err != nil {
		return fail(err)
	}
	defer unix.Close(parent)
	base := path.Base(rel)
	created := true
	if dir {
		err = unix.Mkdirat(parent, base, 0o755)
	} else {
		var fd int
		fd, err = unix.Openat(parent, base, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if err == nil {
			unix.Close(fd)
		}
	}
	if errors.Is(err, unix.EEXIST) {
		created = false
	} else if err != nil {
		return fail(err)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fail(err)
	}
	want := uint32(unix.S_IFREG)
	if dir {
		want = unix.S_IFDIR
	}
	if st.Mode&unix.S_IFMT != want {
		return fail(errors.New("something else appeared there while the bottle was starting"))
	}
	return placeholder{Path: rel, Dir: dir, Dev: st.Dev, Ino: st.Ino}, created, nil
}

// openBeneath opens folder rel of the folder root as a path, refusing any
// symlink on the way.
func openBeneath(root int, rel string) (int, error) {
	return unix.Openat2(root, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
}

// removePlaceholders removes the recorded placeholders of workdir when no
// bottle holds it or a folder above it; otherwise they stay for the last
// one out (or cleanup). One that a bottle on a folder below may stand on
// stays recorded (holdWayTo). It returns what it removed, relative to
// workdir.
func removePlaceholders(home, workdir string) ([]string, error) {
	for attempt := 1; ; attempt++ {
		removed, busy, err := removePlaceholdersOnce(home, workdir)
		if !busy || attempt == probeAttempts {
			return removed, err
		}
		time.Sleep(lockPoll * time.Duration(attempt))
	}
}

// probeAttempts bounds removePlaceholders' tries while a folder above the
// workdir is busy.
const probeAttempts = 10

// removePlaceholdersOnce is one try of removePlaceholders; busy reports a
// folder above the workdir held by someone else for now. The slow part,
// the removals (each rmdir may wait for the disk), runs under this
// workdir's record lock only, beside the removals of other workdirs.
func removePlaceholdersOnce(home, workdir string) (removed []string, busy bool, err error) {
	endTurn, err := takeProbeTurn(home)
	if err != nil {
		return nil, false, err
	}
	defer endTurn()
	held, ok, above := exclusiveWorkdir(workdir)
	if ok {
		defer releaseAll(held)
	}
	err = withRecord(home, workdir, func() error {
		file := placeholderRecordPath(home, workdir)
		if !ok {
			busy = above
			if _, err := os.Stat(workdir); errors.Is(err, fs.ErrNotExist) {
				return writePlaceholderRecord(file, placeholderRecord{})
			}
			return nil
		}
		rec, err := readPlaceholderRecord(file)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		root, err := unix.Open(workdir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return writePlaceholderRecord(file, placeholderRecord{}) // the workdir is gone, and its placeholders with it
		}
		defer unix.Close(root)
		var errs []error
		var kept []placeholder
		// Children before parents.
		slices.SortFunc(rec.Entries, func(a, b placeholder) int { return strings.Count(b.Path, "/") - strings.Count(a.Path, "/") })
		for _, ph := range rec.Entries {
			below, free := holdWayTo(workdir, ph)
			if !free {
				kept = append(kept, ph)
				continue
			}
			done, err := removePlaceholder(root, ph)
			releaseAll(below)
			if err != nil {
				errs = append(errs, fmt.Errorf("remove placeholder %s in %s: %w", clean(ph.Path), workdir, err))
			}
			if done {
				removed = append(removed, ph.Path)
			}
		}
		rec.Entries = kept
		return errors.Join(append(errs, writePlaceholderRecord(file, rec))...)
	})
	return removed, busy, err
}

// holdWayTo takes the folders from workdir (exclusive) down to placeholder
// ph, and ph itself when it is a folder. A bottle whose workdir is one of
// them, below ours, may be standing on the placeholder (its launch found
// it there and mounted it), and removing it would detach that mount: then
// free is false, and the placeholder stays recorded for a later cleanup.
func holdWayTo(workdir string, ph placeholder) (held []folderHold, free bool) {
	last := path.Dir(ph.Path)
	if ph.Dir {
		last = ph.Path
	}
	if last == "." {
		return nil, true
	}
	d := workdir
	for _, part := range strings.Split(last, "/") {
		d = filepath.Join(d, part)
		h, err := holdExclusive(d)
		if errors.Is(err, unix.EWOULDBLOCK) {
			releaseAll(held)
			return nil, false
		}
		if err != nil {
			break // gone or not a folder: nobody stands there, and removePlaceholder finds nothing of ours
		}
		held = append(held, h)
	}
	return held, true
}

// removePlaceholder removes one placeholder if it is still the empty
// folder or file that was created; anything else is left, and forgotten.
func removePlaceholder(root int, ph placeholder) (bool, error) {
	parent, err := openBeneath(root, path.Dir(ph.Path))
	if err != nil {
		return false, nil // its folder is gone or became a link: nothing of ours to remove
	}
	defer unix.Close(parent)
	base := path.Base(ph.Path)
	var st unix.Stat_t
	if err := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return false, nil
	}
	if st.Dev != ph.Dev || st.Ino != ph.Ino {
		return false, nil // replaced since: not ours any more
	}
	if ph.Dir {
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return false, nil
		}
		err = unix.Unlinkat(parent, base, unix.AT_REMOVEDIR)
		if errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST) {
			return false, nil // someone put something in it: it is theirs now
		}
		return err == nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != 0 {
		return false, nil
	}
	err = unix.Unlinkat(parent, base, 0)
	return err == nil, err
}

// heldPlaceholders returns the placeholders inside workdir that the
// records of workdir and of the folders above it still list, by device
// and inode: what the sweep must not take for the bottle's doing.
func heldPlaceholders(home, workdir string) map[[2]uint64]bool {
	out := map[[2]uint64]bool{}
	for d := workdir; ; d = filepath.Dir(d) {
		if rec, err := readPlaceholderRecord(placeholderRecordPath(home, d)); err == nil && rec.Workdir == d {
			for _, ph := range rec.Entries {
				if _, in := relInside(workdir, filepath.Join(d, ph.Path)); in {
					out[[2]uint64{ph.Dev, ph.Ino}] = true
				}
			}
		}
		if d == filepath.Dir(d) {
			return out
		}
	}
}

// leftoverPlaceholders lists the workdirs that have placeholder records.
func leftoverPlaceholders(home string) []string {
	files, _ := filepath.Glob(filepath.Join(placeholdersDir(home), "*.json"))
	var out []string
	for _, f := range files {
		if rec, err := readPlaceholderRecord(f); err == nil && rec.Workdir != "" {
			out = append(out, rec.Workdir)
		}
	}
	return out
}
