package schemas

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldenErr compares got with the .err file beside src, or rewrites it.
func goldenErr(t *testing.T, src, got string) {
	t.Helper()
	golden := src + ".err"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("missing golden file (run with -update): %v", err)
	}
	if got != string(want) {
		t.Errorf("error text differs from %s\n--- got\n%s--- want\n%s", golden, got, want)
	}
}

// TestInvalidAgentsGolden parses every agent under testdata/agents/invalid
// (as a repository's when its name starts with repo-) and compares the
// whole error text with the .err file beside it.
func TestInvalidAgentsGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/agents/invalid/*.md")
	if len(files) < 12 {
		t.Fatalf("only %d invalid agents", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			a, err := ParseAgent(f, src, strings.HasPrefix(filepath.Base(f), "repo-"))
			if err == nil {
				t.Fatalf("ParseAgent accepted an invalid agent: %+v", a)
			}
			if _, ok := AsErrors(err); !ok {
				t.Fatalf("error is not a positioned error: %T %v", err, err)
			}
			goldenErr(t, f, err.Error()+"\n")
		})
	}
}

func TestValidAgents(t *testing.T) {
	src, err := os.ReadFile("testdata/agents/valid/full.md")
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseAgent("full.md", src, true)
	if err != nil {
		t.Fatal(err)
	}
	if a.Bottle != "claude-web" || strings.Join(a.Skills, ",") != "go-testing,review-checklist" ||
		a.GitGate.User.Name != "reviewer bot" || a.GitGate.User.Email != "bot@example.invalid" {
		t.Fatalf("parsed %+v", a)
	}
	if a.PromptLine != 6 || !strings.HasPrefix(a.Prompt, "You review pull requests") || !strings.HasSuffix(a.Prompt, "write your review.\n") {
		t.Fatalf("prompt at line %d: %q", a.PromptLine, a.Prompt)
	}
	if got := a.SkillsAt[1].String(); got != "full.md:3:22" {
		t.Errorf("skills[1] at %s", got)
	}
	src, _ = os.ReadFile("testdata/agents/valid/minimal.md")
	if a, err = ParseAgent("minimal.md", src, false); err != nil || a.Bottle != "codex-base" || a.Prompt != "" {
		t.Fatalf("minimal: %+v %v", a, err)
	}
}

// The prompt is data, but it must be text: a NUL or invalid UTF-8 would be
// cut or mangled on its way to the CLI. A file over the bound is refused
// before it is parsed.
func TestAgentPromptAndSize(t *testing.T) {
	for name, src := range map[string]string{
		"nul":   "---\nbottle: b\n---\nhello\x00there\n",
		"utf-8": "---\nbottle: b\n---\nhello\xffthere\n",
	} {
		_, err := ParseAgent("a.md", []byte(src), true)
		if err == nil || err.Error() != "a.md:4:1: the prompt (the text after the frontmatter) must be UTF-8 text without NUL bytes" {
			t.Errorf("%s: %v", name, err)
		}
	}
	big := "---\nbottle: b\n---\n" + strings.Repeat("x", MaxAgentSize)
	if _, err := ParseAgent("a.md", []byte(big), true); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized: %v", err)
	}
	if _, err := ParseAgent("a.yaml", []byte("bottle: b\n"), false); err == nil || !strings.Contains(err.Error(), "ends in .md") {
		t.Errorf("yaml agent: %v", err)
	}
}

func TestSkillsGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/skills/invalid/*.md")
	if len(files) < 5 {
		t.Fatalf("only %d invalid skills", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, _ := os.ReadFile(f)
			if s, err := ParseSkill(f, "go-testing", src); err == nil {
				t.Fatalf("ParseSkill accepted an invalid skill: %+v", s)
			} else {
				goldenErr(t, f, err.Error()+"\n")
			}
		})
	}
	src, _ := os.ReadFile("testdata/skills/valid/go-testing.md")
	s, err := ParseSkill("SKILL.md", "go-testing", src)
	if err != nil || s.Name != "go-testing" || !strings.HasPrefix(s.Description, "Run and fix Go tests") {
		t.Fatalf("valid skill: %+v %v", s, err)
	}
	src, _ = os.ReadFile("testdata/skills/valid/no-name.md")
	if s, err = ParseSkill("SKILL.md", "multi", src); err != nil || s.Name != "multi" || s.Description != "Multi-line description\nof a skill.\n" {
		t.Fatalf("no-name skill: %+v %v", s, err)
	}
	long := "---\ndescription: " + strings.Repeat("é", MaxSkillDescChars+1) + "\n---\n"
	if _, err := ParseSkill("SKILL.md", "x", []byte(long)); err == nil || !strings.Contains(err.Error(), "1025 characters, more than 1024") {
		t.Fatalf("long description: %v", err)
	}
}

func TestCheckSkillName(t *testing.T) {
	for _, ok := range []string{"a", "go-testing", "x1", strings.Repeat("a", 64)} {
		if why := CheckSkillName(ok); why != "" {
			t.Errorf("%q: %s", ok, why)
		}
	}
	for _, bad := range []string{"", "-a", "a-", "a--b", "A", "a_b", "a.b", "../a", "a/b", strings.Repeat("a", 65), ".system"} {
		if CheckSkillName(bad) == "" {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestFlatten(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                      "plain",
		"two\nlines\r\n\tand tabs":   "two lines and tabs",
		"esc\x1b[2Jclear":            "esc [2Jclear",
		"rtl\u202etxt.exe\u2066":     "rtl txt.exe",
		"zero\u200bwidth":            "zero width",
		"bad\xffutf8":                "bad utf8",
		"long " + "x":                "long x",
		"sep\u2028line\u2029para":    "sep line para",
		"\u0085next-line c1 control": "next-line c1 control",
	} {
		if got := Flatten(in, 100); got != want {
			t.Errorf("Flatten(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Flatten("abcdef", 3); got != "abc…" {
		t.Errorf("cut: %q", got)
	}
}
