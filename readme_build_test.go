package main

import (
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeBuildIsStatic builds bot-bottle as the README's Run: line does
// (scripts/build.sh) and checks the result: both binaries statically
// linked, no C library, no loader (the docker backend's init runs inside
// containers of any image), and one pair (the same build pair), so local
// bottles start from bot-bottle-init.
func TestReadmeBuildIsStatic(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	must(t, err)
	run := ""
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "Run: ") {
			run = line
			break
		}
	}
	m := regexp.MustCompile(`\./scripts/build\.sh (\S+) `).FindStringSubmatch(run)
	if m == nil {
		t.Fatalf("the README's Run: line does not build with scripts/build.sh: %q", run)
	}
	dir := t.TempDir()
	cmd := exec.Command("./scripts/build.sh", dir)
	// What a machine with a C compiler does by default: the script must
	// not depend on the caller's environment to link statically.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CGO_ENABLED=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", m[0], err, b)
	}
	var ldflags []string
	for _, name := range []string{"bot-bottle", "bot-bottle-init"} {
		out := filepath.Join(dir, name)
		f, err := elf.Open(out)
		must(t, err)
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%q builds %s dynamically linked (it names a loader); the docker backend cannot use it", m[0], name)
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Errorf("%q builds %s needing %v", m[0], name, libs)
		}
		f.Close()
		bi, err := buildinfo.ReadFile(out)
		must(t, err)
		for _, s := range bi.Settings {
			if s.Key == "-ldflags" {
				ldflags = append(ldflags, s.Value)
			}
		}
	}
	if len(ldflags) != 2 || ldflags[0] != ldflags[1] || !strings.Contains(ldflags[0], "netns.buildPair=") {
		t.Errorf("%q builds binaries that are not one pair: -ldflags %q", m[0], ldflags)
	}
}
