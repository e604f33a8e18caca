package launcher

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// scanSkip are folders the nested scan does not enter: dependencies that
// no host tool treats as the operator's project (sandbox-runtime skips
// node_modules for the same reason), and git folders, which protectRepo
// handles.
var scanSkip = map[string]bool{"node_modules": true, ".git": true}

// scanNested protects the protected names found in folders below the
// workdir, up to protectDepth levels: a package's own .vscode or .claude,
// and nested repositories (a .git folder or file) with their hooks and
// config. Only what exists is protected: a nested folder is not known to
// be a project root until it has one.
func (p *protectionPlan) scanNested(dir string, depth int) error {
	if depth > protectDepth {
		return nil
	}
	entries, err := os.ReadDir(filepath.Join(p.root, dir))
	if err != nil {
		return nil // unreadable here means unreadable to the host's tools too
	}
	for _, e := range entries {
		rel := path.Join(dir, e.Name())
		if dir == "." {
			rel = e.Name()
		}
		if dir != "." {
			switch {
			case e.Name() == ".git":
				if _, err := p.protectRepo(dir, false); err != nil {
					return err
				}
				continue
			case isSingleProtectedName(e.Name()) && !p.opted[e.Name()]:
				if err := p.protect(rel, placeholderDir); err != nil {
					return err
				}
				continue
			}
		}
		if !e.IsDir() || scanSkip[e.Name()] || p.ro[rel] {
			continue
		}
		if err := p.scanNested(rel, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// isSingleProtectedName reports whether name is a protected path of one
// component (.vscode, .envrc, ...): the ones that mean the same in any
// folder.
func isSingleProtectedName(name string) bool {
	return !strings.Contains(name, "/") && schemas.IsProtectedName(name)
}

// checkContents walks the existing read-only folders: a file there with a
// second hard link could be changed through the other name, and a symlink
// there is followed by the host's tools to a target that must be
// protected too when it is in the workdir (a hook that links to a tracked
// script). Targets outside the workdir are the host's view's business.
func (p *protectionPlan) checkContents() error {
	seen := 0
	for i := 0; i < len(p.dirs); i++ { // p.dirs grows as targets are protected
		dir := p.dirs[i]
		if p.underRO(dir) {
			continue // walked with the folder that holds it
		}
		err := filepath.WalkDir(filepath.Join(p.root, dir), func(abs string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("protect workdir %s: %s", p.root, clean(err.Error()))
			}
			if seen++; seen > maxProtectedEntries {
				return p.refuse(dir, fmt.Sprintf("the protected folders hold more than %d entries to check", maxProtectedEntries))
			}
			rel, _ := p.inside(abs)
			switch {
			case d.Type()&fs.ModeSymlink != 0:
				return p.protectLinkTarget(rel, abs)
			case d.Type().IsRegular():
				if info, err := d.Info(); err == nil {
					if n := linkCount(info); n > 1 {
						return p.refuse(rel, fmt.Sprintf("it has %d hard links, and another name for it would stay writable", n))
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// protectLinkTarget protects what the symlink at rel leads to when that is
// inside the workdir and not protected already; a target that does not
// exist there could be created by the bottle, so the launch is refused.
func (p *protectionPlan) protectLinkTarget(rel, abs string) error {
	dest, err := os.Readlink(abs)
	if err != nil {
		return fmt.Errorf("protect workdir %s: %s", p.root, clean(err.Error()))
	}
	if !filepath.IsAbs(dest) {
		dest = filepath.Join(filepath.Dir(abs), dest)
	}
	real, err := filepath.EvalSymlinks(dest)
	if err != nil {
		if _, in := p.inside(filepath.Clean(dest)); in {
			return p.refuse(rel, "it is a symlink to a missing path in the workdir, which a bottle could create")
		}
		return nil
	}
	target, ok := p.inside(real)
	if !ok || p.ro[target] || p.underRO(target) {
		return nil
	}
	return p.protect(target, placeholderDir)
}
