package launcher

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Some of what a host's git trusts cannot be held by a mount, because it
// may appear anywhere or because git refuses a placeholder there:
//   - a git repository planted in any folder of the workdir (`git init
//     sub`, a .git file pointing at a git folder the agent wrote): the
//     host's `git status` runs core.fsmonitor of every submodule the index
//     names, and git run in that folder uses its config and hooks;
//   - .git/commondir, which sends git to another folder for its config and
//     hooks (git refuses an empty or folder commondir, so no placeholder);
//   - a rebase or cherry-pick left in progress, whose todo list may hold
//     `exec` lines that run when the operator continues it.
//
// So when a bottle ends (and when cleanup finds one whose owner died), the
// owner sweeps the workdir for what the bottle changed there (ctime at or
// after the launch: a bottle cannot set ctime back) and defuses it: a
// planted .git or commondir is renamed aside (nothing is deleted; the
// notice says how to look and rename it back), the rest is reported. A
// linked worktree that `git worktree add` made inside the workdir is left
// alone when it uses the protected repository's own config and hooks.

// quarantineSuffix is appended to what the sweep renames aside.
const quarantineSuffix = ".bot-bottle-quarantine-"

// sweepMargin is how far before the launch a change still counts as the
// bottle's: the kernel stamps ctime from a coarse clock.
const sweepMargin = time.Second

// maxSweepEntries bounds the walk; a larger workdir gets a notice that it
// was not swept to the end.
const maxSweepEntries = 2_000_000

// sweeper is one sweep of a workdir.
type sweeper struct {
	root    string
	rootFD  int
	since   time.Time
	id      string             // the bottle, named in quarantine names
	held    map[[2]uint64]bool // placeholders still recorded (device, inode): the launcher's, not the bottle's
	topGit  string             // the workdir's own git folder, relative ("" when none or outside)
	notices []string
}

// sweepWorkdir defuses and reports what the bottle id left in workdir
// since its launch. It never follows a symlink. A placeholder that is still
// recorded in home (another bottle stands on it) is no change of the
// bottle's, though it is newer than the launch.
func sweepWorkdir(home, workdir string, since time.Time, id string) ([]string, error) {
	fd, err := unix.Open(workdir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sweep workdir %s: %w", workdir, err)
	}
	defer unix.Close(fd)
	s := &sweeper{root: workdir, rootFD: fd, since: since.Add(-sweepMargin), id: id, held: heldPlaceholders(home, workdir)}
	s.topGit = s.gitDirOf(".git")
	if s.topGit != "" {
		s.sweepTopGit()
	}
	seen := 0
	err = filepath.WalkDir(workdir, func(abs string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished or unreadable: nothing the host can trust there either
		}
		if seen++; seen > maxSweepEntries {
			s.notices = append(s.notices, fmt.Sprintf("the workdir has more than %d entries: it was not checked to the end for git repositories the bottle planted", maxSweepEntries))
			return filepath.SkipAll
		}
		rel, ok := relInside(workdir, abs)
		if !ok {
			return nil
		}
		name := d.Name()
		switch {
		case rel == ".git" || (s.topGit != "" && (rel == s.topGit || strings.HasPrefix(rel, s.topGit+"/"))):
			if d.IsDir() {
				return filepath.SkipDir // the protected repository: its own parts are held read-only
			}
		case name == ".git":
			s.sweepNestedGit(rel)
			if d.IsDir() {
				return filepath.SkipDir
			}
		case path.Dir(rel) != "." && isSingleProtectedName(name) && s.changed(rel):
			s.notices = append(s.notices, fmt.Sprintf("the bottle wrote %s, which tools you may start in %s trust (%s): read it before you do",
				clean(filepath.Join(workdir, rel)), clean(filepath.Join(workdir, path.Dir(rel))), name))
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	return s.notices, err
}

// sweepTopGit renames aside a commondir planted in the workdir's own git
// folder and reports an operation left in progress.
func (s *sweeper) sweepTopGit() {
	if rel := path.Join(s.topGit, "commondir"); s.changed(rel) {
		s.quarantine(rel, "it sends git to another folder for its config and hooks")
	}
	for _, op := range []string{"rebase-merge", "rebase-apply", "sequencer"} {
		if rel := path.Join(s.topGit, op); s.changed(rel) {
			s.notices = append(s.notices, fmt.Sprintf("the bottle left a rebase or cherry-pick in progress (%s): its todo list can hold exec lines that run when you continue it; read it first, or abort it (git rebase --abort, git cherry-pick --abort)",
				clean(filepath.Join(s.root, rel))))
		}
	}
}

// sweepNestedGit defuses a .git entry below the workdir's root that the
// bottle created or whose config or hooks it changed.
func (s *sweeper) sweepNestedGit(rel string) {
	st, err := s.lstat(rel)
	if err != nil {
		return
	}
	planted := ctimeOf(st).After(s.since)
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		// Work in a nested repository (a commit) changes its .git
		// folder's ctime; what counts is whether the folder is new.
		planted = s.bornAfter(rel, st)
	}
	gitDir := rel
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		gitDir = s.gitDirOf(rel)
		if planted && gitDir != "" && s.isPlainWorktree(gitDir) {
			return
		}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		gitDir = ""
	}
	if !planted && gitDir != "" {
		planted = s.gitDirChanged(gitDir)
	}
	if planted {
		s.quarantine(rel, "your git would use its config and hooks in that folder, and `git status` runs its core.fsmonitor when it is a submodule")
	}
}

// gitDirChanged reports whether the bottle changed what of git folder g
// runs or configures commands.
func (s *sweeper) gitDirChanged(g string) bool {
	for _, f := range []string{"config", "config.worktree", "commondir", "hooks"} {
		if s.changed(path.Join(g, f)) {
			return true
		}
	}
	entries, _ := os.ReadDir(filepath.Join(s.root, g, "hooks"))
	for _, e := range entries {
		if s.changed(path.Join(g, "hooks", e.Name())) {
			return true
		}
	}
	return false
}

// isPlainWorktree reports whether git folder g is a linked worktree of the
// workdir's own repository that takes its config and hooks from it and
// has no config of its own: what `git worktree add` makes.
func (s *sweeper) isPlainWorktree(g string) bool {
	if s.topGit == "" || path.Dir(g) != path.Join(s.topGit, "worktrees") || s.exists(path.Join(g, "config.worktree")) {
		return false
	}
	c, err := readCommonDir(filepath.Join(s.root, g))
	return err == nil && c == filepath.Join(s.root, s.topGit)
}

// gitDirOf returns the git folder (relative) a .git entry names when it is
// inside the workdir: itself for a folder, the target of a .git file.
func (s *sweeper) gitDirOf(rel string) string {
	st, err := s.lstat(rel)
	if err != nil {
		return ""
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return rel
	case unix.S_IFREG:
		t, err := readGitFile(filepath.Join(s.root, rel))
		if err != nil {
			return ""
		}
		if r, ok := relInside(s.root, t); ok {
			return r
		}
	}
	return ""
}

// quarantine renames rel aside, next to itself, without following links.
func (s *sweeper) quarantine(rel, why string) {
	parent, err := openBeneath(s.rootFD, path.Dir(rel))
	if err != nil {
		s.notices = append(s.notices, fmt.Sprintf("the bottle planted %s (%s), and it could not be renamed aside: %v; do not run git there before you look at it",
			clean(filepath.Join(s.root, rel)), why, clean(err.Error())))
		return
	}
	defer unix.Close(parent)
	base := path.Base(rel)
	aside := base + quarantineSuffix + s.id
	for i := 2; ; i++ {
		err = unix.Renameat2(parent, base, parent, aside, unix.RENAME_NOREPLACE)
		if !errors.Is(err, unix.EEXIST) || i > 99 {
			break
		}
		aside = fmt.Sprintf("%s%s%s-%d", base, quarantineSuffix, s.id, i)
	}
	if err != nil {
		s.notices = append(s.notices, fmt.Sprintf("the bottle planted %s (%s), and it could not be renamed aside: %v; do not run git there before you look at it",
			clean(filepath.Join(s.root, rel)), why, clean(err.Error())))
		return
	}
	s.notices = append(s.notices, fmt.Sprintf("the bottle planted %s (%s): renamed it to %s; look at it before you rename it back",
		clean(filepath.Join(s.root, rel)), why, clean(aside)))
}

// changed reports whether rel exists and its inode changed since the
// launch.
func (s *sweeper) changed(rel string) bool {
	st, err := s.lstat(rel)
	return err == nil && ctimeOf(st).After(s.since) && !s.held[[2]uint64{st.Dev, st.Ino}]
}

func (s *sweeper) exists(rel string) bool {
	_, err := s.lstat(rel)
	return err == nil
}

func (s *sweeper) lstat(rel string) (unix.Stat_t, error) {
	return lstatBeneath(s.rootFD, rel)
}

// bornAfter reports whether rel was created since the launch, by its
// birth time where the filesystem keeps one, else by its ctime (which can
// only say "maybe": it errs towards planted).
func (s *sweeper) bornAfter(rel string, st unix.Stat_t) bool {
	var stx unix.Statx_t
	err := unix.Statx(s.rootFD, rel, unix.AT_SYMLINK_NOFOLLOW|unix.AT_STATX_DONT_SYNC, unix.STATX_BTIME, &stx)
	if err != nil || stx.Mask&unix.STATX_BTIME == 0 {
		return ctimeOf(st).After(s.since)
	}
	return time.Unix(stx.Btime.Sec, int64(stx.Btime.Nsec)).After(s.since)
}

func ctimeOf(st unix.Stat_t) time.Time {
	return time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
}
