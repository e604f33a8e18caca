package launcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/bot-bottle/bot-bottle/launcher/bottleinit"
	"github.com/bot-bottle/bot-bottle/schemas"
	"golang.org/x/sys/unix"
)

// Files the host later executes or trusts are read-only inside a bottle,
// whether they exist or not (schemas.ProtectedPaths lists them, with the
// reason for each): the workdir is the one host folder an agent can write,
// and without this a planted .git/hooks/post-checkout, core.fsmonitor or
// .vscode/tasks.json would run as the operator at the next `git status` or
// editor start. The launcher decides, at each launch, which concrete paths
// that means for the workdir (protectionPlan); the backends mount each over
// itself (bottleinit.Protect, docker read-only binds).
//
// What is protected, beyond the list at the workdir's root:
//   - the repository's real layout: a .git file (worktree, submodule)
//     pointing at a git folder inside the workdir, its commondir, the
//     submodules' git folders under modules/ (hooks and config of each),
//     linked worktrees' config.worktree and commondir files;
//   - the folder core.hooksPath names and every file a git include names,
//     as the host's own git reads them (system, global and repository
//     config), when they are inside the workdir; for a workdir with no
//     repository git's answer is reused while nothing it read has
//     changed (gitconfigcache.go), since serve launches many bottles;
//   - the same names in folders up to protectDepth levels below the root
//     (nested repositories, a monorepo's packages);
//   - the existing targets of symlinks inside protected folders, when they
//     are inside the workdir (a hooks folder whose pre-commit links to a
//     tracked script).
//
// What cannot be protected is refused, never skipped: a protected path that
// is a symlink, a file with a second hard link, a git include that names a
// missing file outside a git folder.
//
// Git dirs outside the workdir (a linked worktree's common dir, a workdir
// inside a bigger repository) are not the workdir's: the bottle's view of
// the host (read-only root, hidden folders) decides whether it can write
// them.

// protectDepth is how many levels of folders below the workdir the nested
// scan looks at, as sandbox-runtime does: deep enough for a monorepo's
// packages and vendored repositories, shallow enough to stay fast.
const protectDepth = 3

// maxProtectedPaths bounds the mounts one bottle gets: a workdir seeded
// with thousands of nested .vscode folders (by an earlier bottle, say)
// must not make a launch crawl or a container spec explode.
const maxProtectedPaths = 1000

// maxProtectedEntries bounds the walk of the protected folders' contents;
// beyond it the launch is refused rather than half-checked.
const maxProtectedEntries = 20000

// placeholderKind is what stands in for a protected path that does not
// exist: an empty folder in the worktree (git does not track empty
// folders, so `git add -A` never commits it), an empty file inside a git
// folder (an empty config is valid; a folder would break git).
type placeholderKind int

const (
	placeholderDir placeholderKind = iota
	placeholderFile
)

// protectionPlan is what one launch protects in its workdir.
type protectionPlan struct {
	root    string
	rootFD  int
	ro      map[string]bool            // relative paths, read-only
	missing map[string]placeholderKind // the read-only paths that do not exist yet
	dirs    []string                   // existing read-only folders, whose contents are checked
	opted   map[string]bool            // workdir.writable names
	env     map[string]string          // the host environment, for git
}

// planProtection decides which paths of workdir a bottle with the given
// opt-ins cannot write. It creates nothing; placeholders come later, under
// the workdir lock. The caller closes the plan.
func planProtection(ctx context.Context, workdir string, writable []string, env map[string]string) (_ *protectionPlan, err error) {
	fd, err := unix.Open(workdir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("protect workdir %s: %w", workdir, err)
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
		}
	}()
	p := &protectionPlan{root: workdir, rootFD: fd, ro: map[string]bool{}, missing: map[string]placeholderKind{},
		opted: map[string]bool{}, env: env}
	for _, w := range writable {
		p.opted[w] = true
	}
	for _, pp := range schemas.ProtectedPaths {
		if !strings.HasPrefix(pp.Name, ".git/") && !p.opted[pp.Name] {
			if err := p.protect(pp.Name, placeholderDir); err != nil {
				return nil, err
			}
		}
	}
	if err := p.protectOwnBinaries(); err != nil {
		return nil, err
	}
	gitDir, err := p.protectRepo(".", true)
	if err != nil {
		return nil, err
	}
	if err := p.protectGitConfigPaths(ctx, gitDir); err != nil {
		return nil, err
	}
	if err := p.scanNested(".", 1); err != nil {
		return nil, err
	}
	if err := p.checkContents(); err != nil {
		return nil, err
	}
	if len(p.ro) > maxProtectedPaths {
		return nil, fmt.Errorf("protect workdir %s: %d paths to protect, more than the %d a bottle takes: look for folders full of .vscode, .claude or .git copies",
			workdir, len(p.ro), maxProtectedPaths)
	}
	return p, nil
}

// ownBinary is the running bot-bottle binary (symlinks resolved); empty
// when it cannot be told. A binary replaced since it started (a rebuild
// while serve runs) is named by where it was: the host runs what is there
// now.
var ownBinary = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	exe = strings.TrimSuffix(exe, " (deleted)")
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		return real
	}
	return exe
})

// protectOwnBinaries protects the bot-bottle binary that launches the
// bottle, and the init binary beside it whether it exists or not, when
// they lie in the workdir (built into the repository's bin/, as the
// README's Run: line does): the host runs both at its next launch, the
// first as the operator. A binary that cannot be told (no
// /proc/self/exe) refuses the launch, since the workdir might hold it.
func (p *protectionPlan) protectOwnBinaries() error {
	exe := ownBinary()
	if exe == "" {
		return fmt.Errorf("protect workdir %s: cannot tell where this bot-bottle binary is, so cannot keep the bottle from replacing it", p.root)
	}
	for _, root := range []string{p.root, p.realRoot()} {
		rel, ok := relInside(root, exe)
		if !ok {
			continue
		}
		for _, r := range []string{rel, path.Join(path.Dir(rel), InitBinaryName)} {
			if p.opted[r] {
				continue
			}
			if err := p.protect(r, placeholderDir); err != nil {
				return err
			}
		}
		return nil
	}
	return nil
}

// realRoot is the workdir with its symlinks resolved (the binary's path
// is), or the workdir as given when it cannot be resolved.
func (p *protectionPlan) realRoot() string {
	if real, err := filepath.EvalSymlinks(p.root); err == nil {
		return real
	}
	return p.root
}

// close releases the plan's hold on the workdir folder.
func (p *protectionPlan) close() {
	if p.rootFD >= 0 {
		unix.Close(p.rootFD)
		p.rootFD = -1
	}
}

// protect marks rel read-only: an existing file or folder (not a symlink,
// not a file with another hard link), or a missing path, held by a
// placeholder of kind (or by a folder placeholder at the first missing
// folder on the way).
func (p *protectionPlan) protect(rel string, kind placeholderKind) error {
	if p.ro[rel] {
		return nil
	}
	st, err := p.lstat(rel)
	switch {
	case errors.Is(err, unix.ENOENT):
		// Hold the first missing folder on the way: nothing can then be
		// created below it (core.hooksPath .husky/_ in a fresh clone).
		hold := rel
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			st, err := p.lstat(d)
			if err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
				break
			}
			if !errors.Is(err, unix.ENOENT) {
				return p.refuse(rel, "a path on the way to it is not a folder")
			}
			hold, kind = d, placeholderDir
		}
		p.ro[hold], p.missing[hold] = true, kind
		p.ro[rel] = true
		return nil
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.EXDEV):
		return p.refuse(rel, "a folder on the way to it is a symlink")
	case errors.Is(err, unix.ENOTDIR):
		return p.refuse(rel, "a path on the way to it is not a folder")
	case err != nil:
		return fmt.Errorf("protect %s in workdir %s: %w", clean(rel), p.root, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		return p.refuse(rel, "it is a symlink, which a bottle could replace")
	case unix.S_IFDIR:
		p.dirs = append(p.dirs, rel)
	case unix.S_IFREG:
		if st.Nlink > 1 {
			return p.refuse(rel, fmt.Sprintf("it has %d hard links, and another name for it would stay writable", st.Nlink))
		}
	default:
		return p.refuse(rel, "it is neither a file nor a folder")
	}
	p.ro[rel] = true
	return nil
}

// refuse is the error for a path that cannot be protected: the launch
// stops, and the operator learns how to fix it or to opt the path in.
func (p *protectionPlan) refuse(rel, why string) error {
	return fmt.Errorf("cannot protect %s in workdir %s: %s (replace it with a plain file or folder, or opt it in with workdir.writable in the bottle)",
		clean(rel), p.root, why)
}

// lstat looks at rel beneath the workdir without following any symlink on
// the way; a symlink at the end is reported as one.
func (p *protectionPlan) lstat(rel string) (unix.Stat_t, error) { return lstatBeneath(p.rootFD, rel) }

// lstatBeneath looks at rel beneath the folder root without following any
// symlink on the way; a symlink at the end is reported as one.
func lstatBeneath(root int, rel string) (unix.Stat_t, error) {
	var st unix.Stat_t
	fd, err := unix.Openat2(root, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return st, err
	}
	defer unix.Close(fd)
	err = unix.Fstat(fd, &st)
	return st, err
}

// exists reports whether rel is there (as anything but a symlink).
func (p *protectionPlan) exists(rel string) bool {
	st, err := p.lstat(rel)
	return err == nil && st.Mode&unix.S_IFMT != unix.S_IFLNK
}

// underRO reports whether rel lies inside a read-only path other than
// itself.
func (p *protectionPlan) underRO(rel string) bool {
	for d := path.Dir(rel); d != "." && d != "/"; d = path.Dir(d) {
		if p.ro[d] {
			return true
		}
	}
	return false
}

// spec returns what the backends apply: every read-only path not already
// inside another, and the folders between them and the workdir as
// anchors, parents first.
func (p *protectionPlan) spec() *bottleinit.Protect {
	paths := map[string]bool{}
	for rel := range p.ro {
		if p.underRO(rel) {
			continue
		}
		paths[rel] = true
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			if _, ok := paths[d]; !ok {
				paths[d] = false
			}
		}
	}
	out := &bottleinit.Protect{Root: p.root}
	for rel, ro := range paths {
		out.Paths = append(out.Paths, bottleinit.ProtectedPath{Path: rel, ReadOnly: ro})
	}
	slices.SortFunc(out.Paths, func(a, b bottleinit.ProtectedPath) int {
		if da, db := strings.Count(a.Path, "/"), strings.Count(b.Path, "/"); da != db {
			return da - db
		}
		return strings.Compare(a.Path, b.Path)
	})
	return out
}

// placeholders lists the missing read-only paths that need one, parents
// first; a path below another placeholder needs none (the folder above
// is held empty).
func (p *protectionPlan) placeholders() []string {
	var out []string
	for rel := range p.missing {
		if !p.underRO(rel) {
			out = append(out, rel)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Count(a, "/") - strings.Count(b, "/") })
	return out
}

// clean makes a path or message that names what an agent may have created
// safe to print: control and format characters (a newline that forges a
// line, a bidi override) come out escaped, as Go would quote them.
func clean(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
