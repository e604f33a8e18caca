package launcher

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// The host's git config is read at every launch (protectGitConfigPaths),
// and a `git config` run costs a fork and exec of git: ~15 ms of a launch
// when serve starts many bottles. Its answer is a security input (a stale
// one could leave a hooks folder of the host's git writable by the agent),
// so the cache below gives an answer only when running git again would
// read the very same bytes and so print the very same thing:
//
//   - only for a workdir git finds no repository in (gitFindsNoRepo), whose
//     answer depends on no file of the workdir;
//   - keyed by the git binary (path and stat), the environment git gets
//     (gitEnvNames), and the stat of every file git may have read: the
//     system config, every global candidate, every file that printed a
//     setting and every file an include names, absent ones included (a
//     file appearing changes the key);
//   - never for files changed shortly before git read them (racyWindow):
//     a rewrite within the same timestamp tick with the same size leaves
//     the stat as it was, as git's own index knows ("racy git");
//   - only for a git that is a compiled program, not a script (a version
//     manager's shim can pick another git by a file in the workdir);
//   - any doubt while building the key (a relative path, an unexpected
//     origin, a stat error, a FIFO) means no caching: git runs.

// maxGitConfigCache bounds the cached answers: one per host environment
// (HOME, git), and serve has a handful at most.
const maxGitConfigCache = 8

// racyWindow is how long before git read it a file must have last changed
// for its stat to stand for its content. Timestamps come from a coarse
// clock that can lag the one time.Now reads by a few milliseconds, and
// some filesystems keep them in ticks of 1 s (ext3, HFS+) or 2 s (FAT):
// 3 s is beyond both together.
const racyWindow = 3 * time.Second

// hostGitConfigCache is the process's cache: serve launches every bottle
// from one process.
var hostGitConfigCache gitConfigCache

// gitConfigCache holds the last answers of the host's git, most recently
// used first.
type gitConfigCache struct {
	mu      sync.Mutex
	entries []*cachedGitConfig
	system  map[fileStamp]string // the git binary's compiled-in system config path
}

// cachedGitConfig is one answer and what it depends on.
type cachedGitConfig struct {
	git      fileStamp   // the binary
	env      string      // gitEnvKey
	files    []fileStamp // every file git may have read, as it was
	settings []gitConfigPath
}

// lookup returns the cached answer for git run with env, when every file
// it depends on is as it was. It re-stats them all on each call: a hit
// costs a few stat calls instead of an exec.
func (c *gitConfigCache) lookup(git string, env map[string]string) ([]gitConfigPath, bool) {
	envKey, ok := gitEnvKey(env)
	if !ok {
		return nil, false
	}
	bin, err := stampFile(git)
	if err != nil {
		return nil, false
	}
	c.mu.Lock()
	var hit *cachedGitConfig
	for _, e := range c.entries {
		if e.git == bin && e.env == envKey {
			hit = e
			break
		}
	}
	c.mu.Unlock()
	if hit == nil {
		return nil, false
	}
	for _, f := range hit.files {
		now, err := stampFile(f.path)
		if err != nil || now != f {
			return nil, false
		}
	}
	c.mu.Lock()
	if i := slices.Index(c.entries, hit); i > 0 {
		copy(c.entries[1:i+1], c.entries[:i])
		c.entries[0] = hit
	}
	c.mu.Unlock()
	return slices.Clone(hit.settings), true
}

// store caches settings, the answer of git read from readAt on, when it
// can name every file the answer depends on and none of them changed
// within racyWindow of readAt. It replaces an older answer for the same
// binary and environment.
func (c *gitConfigCache) store(ctx context.Context, git string, env map[string]string, entries []gitConfigEntry, settings []gitConfigPath, readAt time.Time) {
	envKey, ok := gitEnvKey(env)
	if !ok {
		return
	}
	bin, err := stampFile(git)
	if err != nil || !bin.settledBefore(readAt) || !isExecutableImage(git) {
		return
	}
	system, ok := c.systemConfig(ctx, git, bin, env)
	if !ok {
		return
	}
	paths, ok := gitConfigFiles(env, system, entries)
	if !ok {
		return
	}
	e := &cachedGitConfig{git: bin, env: envKey, settings: slices.Clone(settings)}
	for _, p := range paths {
		st, err := stampFile(p)
		if err != nil || !st.settledBefore(readAt) {
			return
		}
		e.files = append(e.files, st)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = slices.DeleteFunc(c.entries, func(o *cachedGitConfig) bool { return o.git == bin && o.env == envKey })
	c.entries = slices.Insert(c.entries, 0, e)
	if len(c.entries) > maxGitConfigCache {
		c.entries = c.entries[:maxGitConfigCache]
	}
}

// gitEnvKey is the environment git gets, as one string (a variable unset
// differs from one set empty). It reports false when a path in it is
// relative: git would resolve it against the workdir, so the answer would
// depend on the workdir after all.
func gitEnvKey(env map[string]string) (string, bool) {
	var b strings.Builder
	for _, k := range gitEnvNames {
		v, ok := env[k]
		if !ok {
			b.WriteString(k + "\x00unset\x00")
			continue
		}
		// An empty HOME makes "~/x" mean "/x" to git but not to
		// expandGitPath: not worth the doubt.
		if (k == "HOME" || (k != "GIT_CONFIG_NOSYSTEM" && v != "")) && !strings.HasPrefix(v, "/") {
			return "", false
		}
		b.WriteString(k + "=" + v + "\x00")
	}
	return b.String(), true
}

// gitConfigFiles lists every file git may have read to print entries, as
// git names them (not cleaned: "a/../b" resolves through a symlinked a as
// the kernel does, not as a lexical clean would): the system config, the
// global candidates, whether git read them or not, every file a setting
// came from, and every file an include names (read or not: a condition
// can only turn true through a change of a file listed here). It reports
// false when a file cannot be named for sure.
func gitConfigFiles(env map[string]string, system string, entries []gitConfigEntry) ([]string, bool) {
	home, hasHome := env["HOME"]
	var files []string
	if v, ok := env["GIT_CONFIG_SYSTEM"]; ok {
		files = append(files, v)
	} else {
		files = append(files, system)
	}
	if v, ok := env["GIT_CONFIG_GLOBAL"]; ok {
		files = append(files, v)
	}
	if hasHome {
		files = append(files, home+"/.gitconfig", home+"/.config/git/config")
	}
	if x := env["XDG_CONFIG_HOME"]; x != "" {
		files = append(files, x+"/git/config")
	}
	for _, e := range entries {
		origin, ok := strings.CutPrefix(e.origin, "file:")
		if !ok || !strings.HasPrefix(origin, "/") {
			return nil, false // not a file git opened by an absolute name
		}
		files = append(files, origin)
		if !isGitIncludeKey(e.key) {
			continue
		}
		if !e.hasValue {
			return nil, false // git refuses a valueless include; never cached
		}
		target, ok := gitIncludeTarget(e.value, home, hasHome, origin)
		if !ok {
			return nil, false
		}
		files = append(files, target)
	}
	slices.Sort(files)
	return slices.Compact(files), true
}

// gitIncludeTarget is the file an include of value in the config file
// origin names, as git's handle_path_include builds it: "~" and "~/" are
// the home, a relative path is relative to the folder of origin. It
// reports false for what git expands beyond that ("~user/", "%(prefix)/").
func gitIncludeTarget(value, home string, hasHome bool, origin string) (string, bool) {
	switch {
	case value == "~" || strings.HasPrefix(value, "~/"):
		if !hasHome { // git refuses it: never cached
			return "", false
		}
		return home + value[1:], true
	case strings.HasPrefix(value, "~") || strings.HasPrefix(value, "%("):
		return "", false
	case strings.HasPrefix(value, "/"):
		return value, true
	}
	return origin[:strings.LastIndexByte(origin, '/')+1] + value, true
}
