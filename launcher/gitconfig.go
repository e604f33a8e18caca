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

// readGitConfigPaths runs the host's git once to list its path settings.
// When the workdir has no git folder, discovery stops at the workdir so a
// repository above it does not answer (its config is not the workdir's).
func readGitConfigPaths(ctx context.Context, env map[string]string, workdir, gitDir string) ([]gitConfigPath, error) {
	git, err := lookHostGit(env["PATH"])
	if err != nil {
		return nil, nil // no git on the host: nothing reads these settings
	}
	ctx, cancel := context.WithTimeout(ctx, gitConfigTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, git, "config", "--null", "--show-origin", "--get-regexp",
		`^(core\.hookspath|include\.path|includeif\..+\.path)$`)
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
		if errors.As(err, &ee) && ee.ExitCode() == 1 && stderr.Len() == 0 {
			return nil, nil // no such setting
		}
		// A config the host's git cannot read is one the launch cannot
		// check: refuse, as the operator's own git would.
		return nil, fmt.Errorf("protect workdir %s: read the host's git config: %v: %s", workdir, err, clean(strings.TrimSpace(stderr.String())))
	}
	return parseGitConfigPaths(stdout.Bytes(), workdir), nil
}

// parseGitConfigPaths reads `git config --null --show-origin` output:
// origin NUL key LF value NUL, repeated. Origins other than files (the
// command line, blobs) name nothing on disk and are skipped.
func parseGitConfigPaths(out []byte, dir string) []gitConfigPath {
	fields := strings.Split(string(out), "\x00")
	var settings []gitConfigPath
	for i := 0; i+1 < len(fields); i += 2 {
		origin, ok := strings.CutPrefix(fields[i], "file:")
		key, value, hasValue := strings.Cut(fields[i+1], "\n")
		if !ok || !hasValue || value == "" {
			continue
		}
		if !filepath.IsAbs(origin) {
			origin = filepath.Join(dir, origin)
		}
		settings = append(settings, gitConfigPath{key: strings.ToLower(key), value: value, origin: filepath.Clean(origin)})
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
