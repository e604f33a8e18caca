package schemas

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseAgent checks that decoding an agent never panics, that every
// refusal is a list of positioned errors within the file, and that an
// accepted agent has a valid bottle name, valid skill names and a prompt
// that is a suffix of its input.
func FuzzParseAgent(f *testing.F) {
	for _, dir := range []string{"testdata/agents/valid", "testdata/agents/invalid"} {
		files, _ := filepath.Glob(dir + "/*.md")
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(strings.HasPrefix(filepath.Base(p), "repo-"), b)
		}
	}
	f.Fuzz(func(t *testing.T, fromRepo bool, src []byte) {
		a, err := ParseAgent("a.md", src, fromRepo)
		if err != nil {
			errs, ok := AsErrors(err)
			if !ok || len(errs) == 0 {
				t.Fatalf("refusal is not a positioned error: %T %v", err, err)
			}
			// YAML breaks lines at \n, \r\n and a lone \r alike, and so
			// do the positions it reports.
			lines := strings.Count(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n") +
				strings.Count(strings.ReplaceAll(string(src), "\r\n", "\n"), "\r") + 2
			for _, e := range errs {
				if e.At.File != "a.md" || e.At.Line > lines || e.Msg == "" {
					t.Fatalf("error outside the file: %v", e)
				}
				if ShowPath(e.Error()) != e.Error() {
					t.Fatalf("error carries control or bidi characters: %q", e.Error())
				}
			}
			return
		}
		if CheckBottleName(a.Bottle) != "" {
			t.Fatalf("accepted bottle %q", a.Bottle)
		}
		for _, s := range a.Skills {
			if CheckSkillName(s) != "" {
				t.Fatalf("accepted skill %q", s)
			}
		}
		if !strings.HasSuffix(string(src), a.Prompt) {
			t.Fatal("prompt is not the end of the file")
		}
	})
}

// FuzzParseSkill checks that reading a SKILL.md never panics and that an
// accepted description is within its bound.
func FuzzParseSkill(f *testing.F) {
	for _, dir := range []string{"testdata/skills/valid", "testdata/skills/invalid"} {
		files, _ := filepath.Glob(dir + "/*.md")
		for _, p := range files {
			b, _ := os.ReadFile(p)
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := ParseSkill("SKILL.md", "go-testing", src)
		if err != nil {
			if _, ok := AsErrors(err); !ok {
				t.Fatalf("refusal is not a positioned error: %T %v", err, err)
			}
			return
		}
		if s.Name != "go-testing" || strings.TrimSpace(s.Description) == "" || len([]rune(s.Description)) > MaxSkillDescChars {
			t.Fatalf("accepted %+v", s)
		}
	})
}
