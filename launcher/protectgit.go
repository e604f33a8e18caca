package launcher

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Names of the git entries of schemas.ProtectedPaths, as opted in.
const (
	optGitHooks   = ".git/hooks"
	optGitConfig  = ".git/config"
	optGitModules = ".git/modules"
)

// maxGitNesting bounds how deep submodules' git folders are followed.
const maxGitNesting = 8

// protectRepo protects the repository whose .git entry is in folder dir
// (relative to the workdir, "." for its root) and returns the absolute git
// folder it names, or "" when there is none. At the root a missing .git is
// held by a placeholder, so that no `git init` inside can give the
// workdir a config and hooks of the agent's; below the root nothing is
// created for a repository that is not there.
func (p *protectionPlan) protectRepo(dir string, root bool) (string, error) {
	if p.opted[optGitHooks] && p.opted[optGitConfig] && p.opted[optGitModules] {
		return p.gitDirOf(dir), nil
	}
	dotgit := path.Join(dir, ".git")
	st, err := p.lstat(dotgit)
	switch {
	case errors.Is(err, unix.ENOENT):
		if root && (!p.opted[optGitHooks] || !p.opted[optGitConfig]) {
			return "", p.protect(dotgit, placeholderDir)
		}
		return "", nil
	case err != nil:
		return "", p.protect(dotgit, placeholderDir) // reports the symlink on the way, or the error
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if !p.exists(path.Join(dotgit, "HEAD")) {
			// Not a git folder (git passes it by), such as the placeholder
			// of a bottle already running here: held whole, like a missing
			// one, so that nobody makes it one.
			return "", p.protect(dotgit, placeholderDir)
		}
		return filepath.Join(p.root, dotgit), p.protectGitDir(dotgit, 0)
	case unix.S_IFREG:
		// A .git file (`gitdir: <path>`) says where the git folder is:
		// the file itself decides which config and hooks the host runs.
		if err := p.protect(dotgit, placeholderFile); err != nil {
			return "", err
		}
		target, err := readGitFile(filepath.Join(p.root, dotgit))
		if err != nil {
			return "", err
		}
		if rel, ok := p.inside(target); ok {
			return target, p.protectGitDir(rel, 0)
		}
		return target, nil // outside the workdir: see the package note in protect.go
	}
	return "", p.protect(dotgit, placeholderDir) // a symlink or a device: refused there
}

// gitDirOf returns the git folder of the repository at dir without
// protecting anything, for reading its config.
func (p *protectionPlan) gitDirOf(dir string) string {
	dotgit := filepath.Join(p.root, dir, ".git")
	fi, err := os.Lstat(dotgit)
	switch {
	case err != nil:
		return ""
	case fi.IsDir():
		return dotgit
	case fi.Mode().IsRegular():
		if t, err := readGitFile(dotgit); err == nil {
			return t
		}
	}
	return ""
}

// protectGitDir protects what of the git folder g (relative to the
// workdir) the host's git executes or reads as config.
func (p *protectionPlan) protectGitDir(g string, depth int) error {
	if depth > maxGitNesting {
		return p.refuse(g, fmt.Sprintf("submodules are nested more than %d deep", maxGitNesting))
	}
	// A linked git folder (a worktree's, some submodules') takes its
	// hooks and config from the folder its commondir names.
	linked := p.exists(path.Join(g, "commondir"))
	if !p.opted[optGitHooks] && !linked {
		if err := p.protect(path.Join(g, "hooks"), placeholderDir); err != nil {
			return err
		}
	}
	if !p.opted[optGitConfig] {
		switch {
		case p.exists(path.Join(g, "config")):
			if err := p.protect(path.Join(g, "config"), placeholderFile); err != nil {
				return err
			}
		case !linked:
			return p.refuse(path.Join(g, "config"), "the git folder has no config file (run `git init` there once to give it one)")
		}
		if err := p.protect(path.Join(g, "config.worktree"), placeholderFile); err != nil {
			return err
		}
		// commondir sends git elsewhere for config and hooks; a missing
		// one cannot be held (git refuses an empty or folder commondir),
		// so the teardown sweep renames aside one planted there.
		if linked {
			if err := p.protect(path.Join(g, "commondir"), placeholderFile); err != nil {
				return err
			}
		}
	}
	common := g
	if linked {
		c, err := readCommonDir(filepath.Join(p.root, g))
		if err != nil {
			return err
		}
		rel, ok := p.inside(c)
		if !ok {
			return nil
		}
		common = rel
		if common != g {
			if err := p.protectGitDir(common, depth+1); err != nil {
				return err
			}
		}
	}
	if common != g {
		return nil // the common folder's modules and worktrees were done with it
	}
	if err := p.protectWorktrees(g); err != nil {
		return err
	}
	return p.protectModules(g, depth)
}

// protectWorktrees protects the per-worktree config and commondir of the
// linked worktrees of git folder g.
func (p *protectionPlan) protectWorktrees(g string) error {
	if p.opted[optGitConfig] {
		return nil
	}
	entries, err := os.ReadDir(filepath.Join(p.root, g, "worktrees"))
	if err != nil {
		return nil // none
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		wt := path.Join(g, "worktrees", e.Name())
		if err := p.protect(path.Join(wt, "config.worktree"), placeholderFile); err != nil {
			return err
		}
		if p.exists(path.Join(wt, "commondir")) {
			if err := p.protect(path.Join(wt, "commondir"), placeholderFile); err != nil {
				return err
			}
		}
	}
	return nil
}

// protectModules protects the submodules' git folders under g/modules: a
// missing modules folder is held empty (no new submodule git folder can
// appear), an existing one has each of its git folders protected.
func (p *protectionPlan) protectModules(g string, depth int) error {
	if p.opted[optGitModules] {
		return nil
	}
	modules := path.Join(g, "modules")
	if !p.exists(modules) {
		return p.protect(modules, placeholderDir)
	}
	return p.walkModules(modules, depth, 0)
}

// walkModules finds the git folders under dir: a submodule's name may
// hold slashes, so a folder without HEAD is a level of a name.
func (p *protectionPlan) walkModules(dir string, depth, level int) error {
	if level > maxGitNesting {
		return nil
	}
	entries, err := os.ReadDir(filepath.Join(p.root, dir))
	if err != nil {
		return fmt.Errorf("protect %s in workdir %s: %s", clean(dir), p.root, clean(err.Error()))
	}
	for _, e := range entries {
		sub := path.Join(dir, e.Name())
		if e.Type()&os.ModeSymlink != 0 {
			return p.refuse(sub, "it is a symlink, which a bottle could replace")
		}
		if !e.IsDir() {
			continue
		}
		if p.exists(path.Join(sub, "HEAD")) {
			if err := p.protectGitDir(sub, depth+1); err != nil {
				return err
			}
			continue
		}
		if err := p.walkModules(sub, depth, level+1); err != nil {
			return err
		}
	}
	return nil
}

// inside returns abs relative to the workdir when it is inside it (and not
// the workdir itself).
func (p *protectionPlan) inside(abs string) (string, bool) { return relInside(p.root, abs) }

// relInside returns abs relative to root when it is inside it (and not
// root itself), with / separators.
func relInside(root, abs string) (string, bool) {
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// readGitFile returns the absolute git folder a .git file names.
func readGitFile(file string) (string, error) {
	data, err := readSmall(file)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	target, ok := strings.CutPrefix(strings.TrimSpace(line), "gitdir:")
	target = strings.TrimSpace(target)
	if !ok || target == "" {
		return "", fmt.Errorf("protect workdir: %s is not a .git file (no gitdir: line)", clean(file))
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(file), target)
	}
	return filepath.Clean(target), nil
}

// readCommonDir returns the absolute common folder a git folder's
// commondir file names.
func readCommonDir(gitDir string) (string, error) {
	data, err := readSmall(filepath.Join(gitDir, "commondir"))
	if err != nil {
		return "", err
	}
	c := strings.TrimSpace(string(data))
	if c == "" {
		return "", fmt.Errorf("protect workdir: %s/commondir is empty", clean(gitDir))
	}
	if !filepath.IsAbs(c) {
		c = filepath.Join(gitDir, c)
	}
	return filepath.Clean(c), nil
}

// readSmall reads a pointer file (.git, commondir) without following a
// symlink at its end, and refuses anything larger than a path.
func readSmall(file string) ([]byte, error) {
	f, err := os.OpenFile(file, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("protect workdir: %s", clean(err.Error()))
	}
	defer f.Close()
	buf := make([]byte, 4097)
	n, _ := f.Read(buf)
	if n > 4096 {
		return nil, fmt.Errorf("protect workdir: %s is too large for a git pointer file", clean(file))
	}
	return buf[:n], nil
}
