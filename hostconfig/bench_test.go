package hostconfig

import (
	"fmt"
	"strings"
	"testing"
)

// largeClaudeConfig is a ~/.claude.json the size heavy users report
// (Claude Code keeps per-project history in it): about 2 MiB.
func largeClaudeConfig() []byte {
	var b strings.Builder
	b.WriteString("{\n  \"numStartups\": 900,\n  \"projects\": {\n")
	for i := range 400 {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "    \"/home/ada/src/p%d\": {\"allowedTools\": [], \"history\": [", i)
		for j := range 20 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "{\"display\": \"%s\", \"pastedContents\": {}}", strings.Repeat("fix the flaky test ", 12))
		}
		b.WriteString("]}")
	}
	b.WriteString("\n  },\n  \"mcpServers\": {\"other\": {\"command\": \"x\"}}\n}\n")
	return []byte(b.String())
}

// BenchmarkMergeClaudeLarge measures an install into a large user config:
// scan, splice and the decode-and-compare verification.
func BenchmarkMergeClaudeLarge(b *testing.B) {
	src := largeClaudeConfig()
	s := Server{Command: "/usr/local/bin/bot-bottle", Args: []string{"serve"}}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Merge(Claude, src, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMergeCodex measures an install into a config.toml of a few
// dozen servers.
func BenchmarkMergeCodex(b *testing.B) {
	var t strings.Builder
	t.WriteString("model = \"o3\"\n")
	for i := range 40 {
		fmt.Fprintf(&t, "\n# server %d\n[mcp_servers.s%d]\ncommand = \"npx\"\nargs = [\"-y\", \"pkg-%d\"]\n", i, i, i)
	}
	src := []byte(t.String())
	s := Server{Command: "/usr/local/bin/bot-bottle", Args: []string{"serve"}}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Merge(Codex, src, s); err != nil {
			b.Fatal(err)
		}
	}
}
