package launcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// gitConfigTimeout bounds the one `git config` a launch runs.
const gitConfigTimeout = 10 * time.Second

// gitEnvNames are the host variables that decide which config files the
// host's git reads: the launch reads them as the operator's git will.
var gitEnvNames = []string{"HOME", "XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_NOSYSTEM"}

// gitConfigPath is a path setting of the host's git config.
type gitConfigPath struct {
	key    string // core.hookspath, include.path, includeif.<cond>.path
	value  string // as written
	origin string // the config file that holds it, absolute
}

// protectGitConfigPaths asks the host's git which folder holds its hooks
// (core.hooksPath) and which files its config includes, across the system,
// global and repository config, and protects those inside the workdir: a
// relative hooksPath in the operator's global config makes a folder of
// every repository a hooks folder, and an include of a workdir file makes
// that file config. gitDir is the repository's git folder ("" for none).
// Without git on the host nothing reads these settings, and nothing is
// asked.
func (p *protectionPlan) protectGitConfigPaths(ctx context.Context, gitDir string) error {
	hooksOpted, configOpted := p.opted[optGitHooks], p.opted[optGitConfig]
	if hooksOpted && configOpted {
		return nil
	}
	settings, err := readGitConfigPaths(ctx, p.env, p.root, gitDir)
	if err != nil {
		return err
	}
	for _, s := range settings {
		if s.key == "core.hookspath" {
			if hooksOpted {
				continue
			}
			// Relative to the worktree's top, where hooks run.
			if rel, ok := p.inside(expandGitPath(s.value, p.env["HOME"], p.root)); ok {
				if err := p.protect(rel, placeholderDir); err != nil {
					return err
				}
			}
			continue
		}
		if configOpted {
			continue
		}
		rel, ok := p.inside(expandGitPath(s.value, p.env["HOME"], filepath.Dir(s.origin)))
		if !ok {
			continue
		}
		if !p.exists(rel) && !strings.HasPrefix(rel, ".git/") {
			// A placeholder folder would break git ("unable to access"),
			// an empty file would be committed by `git add -A`.
			return p.refuse(rel, fmt.Sprintf("%s includes it (%s) but it does not exist, so a bottle could create it: create it on the host first", clean(s.origin), clean(s.key)))
		}
		if err := p.protect(rel, placeholderFile); err != nil {
			return err
		}
	}
	return nil
}

// readGitConfigPaths asks the host's git for its path settings, once per
// launch unless the answer is cached (gitconfigcache.go): a workdir with
// no git folder gets the same answer as the last launch while nothing git
// read has changed. When the workdir has no git folder, discovery stops
// at the workdir so a repository above it does not answer (its config is
// not the workdir's).
func readGitConfigPaths(ctx context.Context, env map[string]string, workdir, gitDir string) ([]gitConfigPath, error) {
	git, err := lookHostGit(env["PATH"])
	if err != nil {
		return nil, nil // no git on the host: nothing reads these settings
	}
	// Only a workdir that is no repository in git's eyes has an answer
	// that does not depend on it; a repository's config, worktree config
	// and includeIf conditions are read afresh every time.
	cacheable := gitDir == "" && gitFindsNoRepo(workdir)
	if cacheable {
		if settings, ok := hostGitConfigCache.lookup(git, env); ok {
			return settings, nil
		}
	}
	readAt := time.Now()
	entries, err := listGitConfig(ctx, git, env, workdir, gitDir, cacheable)
	if err != nil {
		return nil, err
	}
	settings := gitConfigPathsOf(entries, workdir)
	if cacheable {
		hostGitConfigCache.store(ctx, git, env, entries, settings, readAt)
	}
	return settings, nil
}

// gitPathKeys is the regexp of the path settings, for git to filter.
const gitPathKeys = `^(core\.hookspath|include\.path|includeif\..+\.path)$`

// listGitConfig runs `git config` as the host's git would read its config
// for workdir. With all, it lists every setting, not only the path
// settings, so that the origins tell which files git read (the cache's
// key) and one run of git serves both; without, git lists only the path
// settings (gitPathKeys), so that the launch holds no other value of a
// repository's config (remote URLs with tokens, say) that it needs not.
func listGitConfig(ctx context.Context, git string, env map[string]string, workdir, gitDir string, all bool) ([]gitConfigEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, gitConfigTimeout)
	defer cancel()
	gitConfigExecs.Add(1)
	query := []string{"--get-regexp", gitPathKeys}
	if all {
		query = []string{"--list"}
	}
	cmd := exec.CommandContext(ctx, git, append([]string{"config", "--null", "--show-origin"}, query...)...)
	cmd.Dir = workdir
	cmd.Env = []string{"GIT_CEILING_DIRECTORIES=" + filepath.Dir(workdir)}
	if gitDir != "" {
		cmd.Env = append(cmd.Env, "GIT_DIR="+gitDir)
	}
	for _, k := range gitEnvNames {
		if v, ok := env[k]; ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !all && errors.As(err, &ee) && ee.ExitCode() == 1 && stderr.Len() == 0 {
			return nil, nil // no such setting
		}
		// A config the host's git cannot read is one the launch cannot
		// check: refuse, as the operator's own git would.
		return nil, fmt.Errorf("protect workdir %s: read the host's git config: %v: %s", workdir, err, clean(strings.TrimSpace(stderr.String())))
	}
	return parseGitConfigList(stdout.Bytes()), nil
}

// gitConfigExecs counts the runs of the host's git by this process, so
// that a benchmark can tell a cached answer from a fresh one.
var gitConfigExecs atomic.Int64

// gitConfigEntry is one setting of `git config --null --show-origin
// --list`, as git printed it.
type gitConfigEntry struct {
	origin   string // "file:<path>", "command line:", …
	key      string // section and variable lower-cased by git, subsection as written
	value    string
	hasValue bool // false for a bare `key` line (boolean true)
}

// parseGitConfigList reads `git config --null --show-origin` output:
// origin NUL key LF value NUL, repeated (a key without a value has no LF).
func parseGitConfigList(out []byte) []gitConfigEntry {
	fields := strings.Split(string(out), "\x00")
	var entries []gitConfigEntry
	for i := 0; i+1 < len(fields); i += 2 {
		key, value, hasValue := strings.Cut(fields[i+1], "\n")
		entries = append(entries, gitConfigEntry{origin: fields[i], key: key, value: value, hasValue: hasValue})
	}
	return entries
}

// isGitPathKey reports whether key, as git prints it, is one of the path
// settings the launch protects. It matches exactly what gitPathKeys
// matches when git filters (git lower-cases section and variable names,
// so the case of the subsection is all that is left, and .+ takes any).
func isGitPathKey(key string) bool {
	if key == "core.hookspath" || key == "include.path" {
		return true
	}
	cond, ok := strings.CutPrefix(key, "includeif.")
	if !ok {
		return false
	}
	cond, ok = strings.CutSuffix(cond, ".path")
	return ok && cond != ""
}

// isGitIncludeKey reports whether key names a file git reads as config.
func isGitIncludeKey(key string) bool {
	return isGitPathKey(key) && key != "core.hookspath"
}

// gitConfigPathsOf keeps the path settings of entries. Origins other than
// files (the command line, blobs) name nothing on disk and are skipped; a
// relative origin is relative to dir, where git ran.
func gitConfigPathsOf(entries []gitConfigEntry, dir string) []gitConfigPath {
	var settings []gitConfigPath
	for _, e := range entries {
		origin, ok := strings.CutPrefix(e.origin, "file:")
		if !ok || !e.hasValue || e.value == "" || !isGitPathKey(e.key) {
			continue
		}
		if !filepath.IsAbs(origin) {
			origin = filepath.Join(dir, origin)
		}
		settings = append(settings, gitConfigPath{key: strings.ToLower(e.key), value: e.value, origin: filepath.Clean(origin)})
	}
	return settings
}

// expandGitPath resolves a path setting the way git does: ~/ is the home,
// a relative path is relative to base.
func expandGitPath(v, home, base string) string {
	switch {
	case v == "~" && home != "":
		return filepath.Clean(home)
	case strings.HasPrefix(v, "~/") && home != "":
		return filepath.Join(home, v[2:])
	case filepath.IsAbs(v):
		return filepath.Clean(v)
	}
	return filepath.Join(base, filepath.FromSlash(path.Clean(v)))
}

// lookHostGit finds git in the host's PATH (the operator's git, which is
// the one that will read the config later).
func lookHostGit(pathEnv string) (string, error) {
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" || !filepath.IsAbs(d) {
			continue
		}
		if p, err := exec.LookPath(filepath.Join(d, "git")); err == nil {
			return p, nil
		}
	}
	return exec.LookPath("git")
}
