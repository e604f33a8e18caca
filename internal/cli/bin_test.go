package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The tests that need a separate process (a standalone sidecar, a follower
// in its own process) run the real binary, built once per test process.
var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// botBottle returns the path of a bot-bottle binary built from this module.
func botBottle(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bot-bottle-cli-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "bot-bottle")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/bot-bottle/bot-bottle")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build bot-bottle: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}
