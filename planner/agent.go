package planner

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bot-bottle/bot-bottle/internal/beneath"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// RepoFolder is the folder of a repository that may ship agents and
// skills: <repository>/.bot-bottle/agents and /skills. It never holds
// bottles.
const RepoFolder = ".bot-bottle"

// AgentsDir is where a home keeps its agents.
func AgentsDir(home string) string { return filepath.Join(home, "agents") }

// SkillsDir is where a home keeps its skills.
func SkillsDir(home string) string { return filepath.Join(home, "skills") }

// ErrAgentNotFound is returned (wrapped) when neither the home nor the
// repository has an agent of the requested name.
var ErrAgentNotFound = errors.New("not found")

// RepositoryOf returns the repository a workdir belongs to, whose
// .bot-bottle folder may ship agents and skills: the nearest folder at or
// above workdir that holds a .git (a folder, or the file of a worktree or
// submodule), as git itself finds its top level; the workdir itself when
// none does. It looks only at names: it runs no git, which would read the
// repository's config on the host.
func RepositoryOf(workdir string) string {
	if workdir == "" {
		return ""
	}
	wd := filepath.Clean(workdir)
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return wd
		}
	}
}

// agentSource is where agents and skills are looked for: the home first,
// then the repository's .bot-bottle folder (none when repo is "").
type agentSource struct {
	home string
	repo string // the repository, "" when there is none (or it is the home)
}

func newAgentSource(home, workdir string) agentSource {
	src := agentSource{home: home, repo: RepositoryOf(workdir)}
	if src.repo != "" && sameDir(filepath.Join(src.repo, RepoFolder), home) {
		src.repo = "" // the home's own folder is not a repository's
	}
	return src
}

func sameDir(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	if err1 != nil || err2 != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return ra == rb
}

func (s agentSource) repoDir() string { return filepath.Join(s.repo, RepoFolder) }

// openRepo opens the repository's .bot-bottle folder, refusing a symlink
// there; nil, nil when the repository has none.
func (s agentSource) openRepo() (*beneath.Dir, error) {
	if s.repo == "" {
		return nil, nil
	}
	d, err := beneath.Open(s.repoDir(), false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("repository folder %w", err) // a beneath.Error: its path is quoted when it must be
	}
	return d, nil
}

// foundAgent is an agent file, read.
type foundAgent struct {
	path     string
	src      []byte
	fromRepo bool
	shadowed string // a repository agent of the same name the home's hides
}

// findAgent reads the agent called name: the home's, else the
// repository's. A repository file is read beneath its folder, never
// through a symlink, bounded. When the home has the agent the repository's
// file is never read, only looked at (without following a link) to name it
// as hidden: whatever a repository plants under that name (a symlink, a
// fifo, a huge file) cannot stop the operator's own agent.
func (s agentSource) findAgent(name string) (*foundAgent, error) {
	if why := schemas.CheckAgentName(name); why != "" {
		return nil, fmt.Errorf("agent %q: %s", name, why)
	}
	repoRel := "agents/" + name + ".md"
	repoPath := filepath.Join(s.repoDir(), filepath.FromSlash(repoRel))
	homePath := filepath.Join(AgentsDir(s.home), name+".md")
	homeSrc, err := readHomeFile(homePath, schemas.MaxAgentSize)
	switch {
	case err == nil:
		f := &foundAgent{path: homePath, src: homeSrc}
		if s.repo != "" {
			if _, err := os.Lstat(repoPath); err == nil {
				f.shadowed = repoPath
			}
		}
		return f, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("agent %q: %w", name, err)
	}
	repo, err := s.openRepo()
	if err != nil {
		return nil, fmt.Errorf("agent %q: %w", name, err)
	}
	if repo != nil {
		defer repo.Close()
		src, err := repo.ReadFile(repoRel, repoLimits(schemas.MaxAgentSize))
		if err == nil {
			return &foundAgent{path: repoPath, src: src, fromRepo: true}, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("agent %q: in %s: %w", name, schemas.ShowPath(s.repoDir()), err)
		}
	}
	where := AgentsDir(s.home)
	if s.repo != "" {
		where += " or " + schemas.ShowPath(filepath.Join(s.repoDir(), "agents"))
	}
	return nil, fmt.Errorf("agent %q: %w in %s (have: %s)", name, ErrAgentNotFound, where, strings.Join(s.listAgents(), ", "))
}

// listAgents names the agents of the home and the repository, for an
// error; "none" when there are none.
func (s agentSource) listAgents() []string {
	var names []string
	seen := map[string]bool{}
	add := func(entries []string, suffix string) {
		for _, e := range entries {
			if n, ok := strings.CutSuffix(e, ".md"); ok && schemas.CheckAgentName(n) == "" && !seen[n] {
				seen[n] = true
				names = append(names, n+suffix)
			}
		}
	}
	if entries, err := os.ReadDir(AgentsDir(s.home)); err == nil {
		var list []string
		for _, e := range entries {
			list = append(list, e.Name())
		}
		add(list, "")
	}
	if repo, err := s.openRepo(); err == nil && repo != nil {
		defer repo.Close()
		if d, err := repo.OpenDir("agents"); err == nil {
			list, _ := d.Names()
			d.Close()
			add(list, " (repository)")
		}
	}
	if len(names) == 0 {
		return []string{"none"}
	}
	return names
}

// readHomeFile reads a regular file of the home, at most limit bytes. The
// home is the operator's: a symlink there is theirs to make.
func readHomeFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return b, nil
}

// repoLimits bounds a read from the repository: one file, no hard link.
func repoLimits(max int64) beneath.Limits {
	return beneath.Limits{MaxFileBytes: max, RefuseHardLinks: true}
}
