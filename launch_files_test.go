package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLaunchAgentFiles: a codex bottle forwarding the host's login gets
// the plan's placeholder auth.json in its own home, and never the host's
// file or the token in it (which only its proxy holds).
func TestLaunchAgentFiles(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			e := newE2E(t, be)
			must(t, os.WriteFile(filepath.Join(e.home, "bottles", "codexy.yaml"),
				[]byte(runtimeLine(e.runtime)+"agent_provider: {template: codex, forward_host_credentials: true}\n"), 0o644))
			args := []string{"launch", "--backend", e.backend, "--workdir", e.workdir, "codexy", "--",
				"sh", "-c", `echo "home=$HOME"; ls -la "$HOME/.codex"; cat "$HOME/.codex/auth.json"`}
			out, err := e.command(args...).CombinedOutput()
			t.Logf("%s", out)
			if err != nil {
				t.Fatalf("launch: %v", err)
			}
			s := string(out)
			if !strings.Contains(s, "bot-bottle-placeholder-refresh-token") {
				t.Errorf("the agent's home lacks the plan's placeholder auth.json")
			}
			if strings.Contains(s, hostCodexSecret) {
				t.Errorf("the host's Codex token reached the bottle")
			}
			if !strings.Contains(s, "-rw-------") {
				t.Errorf("auth.json must keep the plan's mode 0600")
			}
		})
	}
}
