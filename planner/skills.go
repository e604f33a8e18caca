package planner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/bot-bottle/bot-bottle/internal/beneath"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// skillBudget is what is left of an agent's skill bounds
// (schemas.MaxSkillsBytes, MaxSkillEntries) as its skills are read.
type skillBudget struct {
	bytes   int64
	entries int
}

// loadedSkill is one skill, read whole.
type loadedSkill struct {
	plan  schemas.SkillPlan
	files []beneath.File
}

// loadSkill reads the skill called name: the home's folder (which may be a
// symlink the operator made), else the repository's. Inside either, every
// file is read beneath the skill's folder: a symlink, a special file, a
// bad name or a hard link (in a repository) is refused with its path, and
// the reads are bounded by budget. shadowed names a repository skill the
// home's hides.
func (s agentSource) loadSkill(name string, budget *skillBudget) (sk *loadedSkill, shadowed string, err error) {
	homePath := filepath.Join(SkillsDir(s.home), name)
	repoPath := filepath.Join(s.repoDir(), "skills", name)
	var dir *beneath.Dir
	origin, source := schemas.FromHome, homePath
	if _, lerr := os.Lstat(homePath); lerr == nil {
		if dir, err = beneath.Open(homePath, true); err != nil {
			return nil, "", fmt.Errorf("skill %q: %w", name, err)
		}
		if s.repo != "" {
			if _, err := os.Lstat(repoPath); err == nil {
				shadowed = repoPath
			}
		}
	} else if !errors.Is(lerr, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("skill %q: %w", name, lerr)
	} else {
		repo, err := s.openRepo()
		if err != nil {
			return nil, "", fmt.Errorf("skill %q: %w", name, err)
		}
		if repo != nil {
			defer repo.Close()
			dir, err = repo.OpenDir("skills/" + name)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, "", fmt.Errorf("skill %q: %s: %w", name, schemas.ShowPath(repoPath), err)
			}
		}
		if dir == nil {
			where := SkillsDir(s.home)
			if s.repo != "" {
				where += " or " + schemas.ShowPath(filepath.Join(s.repoDir(), "skills"))
			}
			return nil, "", fmt.Errorf("skill %q %w in %s (have: %s)", name, ErrAgentNotFound, where, strings.Join(s.listSkills(), ", "))
		}
		origin, source = schemas.FromRepository, repoPath
	}
	defer dir.Close()
	files, err := dir.Walk(beneath.Limits{
		MaxFileBytes:    schemas.MaxSkillFileSize,
		MaxTotalBytes:   budget.bytes,
		MaxEntries:      budget.entries,
		MaxDepth:        schemas.MaxSkillDepth,
		RefuseHardLinks: origin == schemas.FromRepository,
	})
	if err != nil {
		return nil, "", fmt.Errorf("skill %q (%s): %w", name, schemas.ShowPath(source), err)
	}
	sk = &loadedSkill{files: files, plan: schemas.SkillPlan{Name: name, Origin: origin, Source: source, Files: len(files)}}
	var meta *schemas.Skill
	dirs := map[string]bool{}
	for _, f := range files {
		sk.plan.Bytes += int64(len(f.Data))
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
		if f.Path == schemas.SkillFile {
			if meta, err = schemas.ParseSkill(filepath.Join(source, schemas.SkillFile), name, f.Data); err != nil {
				return nil, "", err
			}
		}
	}
	budget.bytes -= sk.plan.Bytes
	budget.entries -= len(files) + len(dirs)
	if meta == nil {
		return nil, "", fmt.Errorf("skill %q (%s): no %s: a skill folder holds a %s with its name and description", name, schemas.ShowPath(source), schemas.SkillFile, schemas.SkillFile)
	}
	sk.plan.Description = schemas.Flatten(meta.Description, 200)
	return sk, shadowed, nil
}

// listSkills names the skills of the home and the repository, for an
// error; "none" when there are none.
func (s agentSource) listSkills() []string {
	var names []string
	seen := map[string]bool{}
	if entries, err := os.ReadDir(SkillsDir(s.home)); err == nil {
		for _, e := range entries {
			if schemas.CheckSkillName(e.Name()) == "" {
				seen[e.Name()] = true
				names = append(names, e.Name())
			}
		}
	}
	if repo, err := s.openRepo(); err == nil && repo != nil {
		defer repo.Close()
		if d, err := repo.OpenDir("skills"); err == nil {
			list, _ := d.Names()
			d.Close()
			for _, n := range list {
				if schemas.CheckSkillName(n) == "" && !seen[n] {
					names = append(names, n+" (repository)")
				}
			}
		}
	}
	if len(names) == 0 {
		return []string{"none"}
	}
	return names
}

// skillFiles places a skill's files in the agent's home, under dir: mode
// 0755 for what its owner could execute, 0644 otherwise (its content is
// the skill's, copied as bytes).
func skillFiles(dir string, sk *loadedSkill) []schemas.AgentFile {
	out := make([]schemas.AgentFile, 0, len(sk.files))
	for _, f := range sk.files {
		mode := uint32(0o644)
		if f.Exec {
			mode = 0o755
		}
		out = append(out, schemas.AgentFile{Path: path.Join(dir, sk.plan.Name, f.Path), Mode: mode, Data: f.Data})
	}
	return out
}
