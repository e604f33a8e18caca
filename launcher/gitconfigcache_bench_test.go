package launcher

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkPlanProtectionGitConfig plans the protection of a workdir with
// no repository, as serve's launches do, with the host's git config
// answer cached and with the cache emptied before every plan (a run of
// git each, as before the cache). execs/op counts the runs of git.
//
//	go test -run '^$' -bench PlanProtectionGitConfig ./launcher
func BenchmarkPlanProtectionGitConfig(b *testing.B) {
	home := b.TempDir()
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[user]\n\tname = op\n[include]\n\tpath = ~/team.inc\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	env := map[string]string{"HOME": home, "PATH": os.Getenv("PATH")}
	w, err := filepath.EvalSymlinks(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	settle() // files younger than racyWindow are never cached
	for _, mode := range []string{"cached", "uncached"} {
		b.Run(mode, func(b *testing.B) {
			before := gitConfigExecs.Load()
			for b.Loop() {
				if mode == "uncached" {
					hostGitConfigCache.mu.Lock()
					hostGitConfigCache.entries = nil
					hostGitConfigCache.mu.Unlock()
				}
				p, err := planProtection(context.Background(), w, nil, env)
				if err != nil {
					b.Fatal(err)
				}
				p.close()
			}
			b.ReportMetric(float64(gitConfigExecs.Load()-before)/float64(b.N), "execs/op")
		})
	}
}
