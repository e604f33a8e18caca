// Package testbin builds the real bot-bottle binary for the launcher's
// tests: statically linked (CGO_ENABLED=0), as the docker backend requires
// and as a release is built, whatever the test binary itself was built with
// (-race needs cgo).
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

var (
	once     sync.Once
	dir      string
	binPath  string
	buildErr error
)

// Path builds the binary once per test process and returns its path; with
// BOT_BOTTLE_TEST_BIN set it returns that prebuilt binary instead (a test
// run as another user, who may not build).
func Path() (string, error) {
	once.Do(func() {
		if p := os.Getenv("BOT_BOTTLE_TEST_BIN"); p != "" {
			binPath = p
			return
		}
		dir, buildErr = os.MkdirTemp("", "bot-bottle-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(dir, "bot-bottle")
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build bot-bottle: %w\n%s", err, out)
		}
	})
	return binPath, buildErr
}

// Cleanup removes the built binary; call it from TestMain after m.Run.
func Cleanup() {
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("find the module root: not in a module")
	}
	return filepath.Dir(mod), nil
}
