package mcp_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// bin is the real bot-bottle binary, built once by TestMain with
// CGO_ENABLED=0 (statically linked, as a release is built, whatever the
// test binary was built with): the local backend runs its init, and the
// transport tests spawn `bot-bottle serve` and `bot-bottle launch`.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bbmcp-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "bot-bottle")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/bot-bottle/bot-bottle")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build bot-bottle: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
