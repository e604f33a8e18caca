package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeBuildIsStatic builds bot-bottle as the README's Run: line does and checks the result can be the docker backend's init, which
// runs inside containers of any image: statically linked, no C library,
// no loader.
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
	m := regexp.MustCompile(`((?:[A-Z_]+=\S+ )*)go build -o (\S+) \.`).FindStringSubmatch(run)
	if m == nil {
		t.Fatalf("the README's Run: line has no go build: %q", run)
	}
	out := filepath.Join(t.TempDir(), "bot-bottle")
	cmd := exec.Command("go", "build", "-o", out, ".")
	// The build's environment: ours, less any CGO_ENABLED, plus the
	// README's assignments.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CGO_ENABLED=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "CGO_ENABLED=1") // what a machine with a C compiler does by default
	cmd.Env = append(cmd.Env, strings.Fields(m[1])...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", m[0], err, b)
	}
	f, err := elf.Open(out)
	must(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%q builds a dynamically linked binary (it names a loader); the docker backend cannot use it", m[0])
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%q builds a binary that needs %v", m[0], libs)
	}
}
