package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The tests beside main.go are the end-to-end tests: they drive the real
// binary (the commands themselves live in internal/cli), built once per
// test process with CGO_ENABLED=0 (statically linked, as the docker backend requires and
// as a release is built), whatever the test binary itself was built with.
var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildStatic builds the Go package at pkg (relative to the module root)
// into the shared temp folder as name.
func buildStatic(pkg, name string) (string, error) {
	dir, err := sharedBinDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, name)
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}

var buildMu sync.Mutex

// botBottle returns the path of the statically built bot-bottle binary.
func botBottle(t testing.TB) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	dir, err := sharedBinDir()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "bot-bottle")
	if _, err := os.Stat(p); err != nil {
		buildPair(t, dir)
	}
	return p
}

// sharedBinDir is the temp folder the test binaries are built into, made
// once per test process.
func sharedBinDir() (string, error) {
	binOnce.Do(func() { binDir, binErr = os.MkdirTemp("", "bot-bottle-e2e-") })
	return binDir, binErr
}

// buildPair builds bot-bottle and bot-bottle-init into dir with
// scripts/build.sh, as the README does: one pair, so bottles start from
// bot-bottle-init.
func buildPair(t testing.TB, dir string) {
	t.Helper()
	if b, err := exec.Command("./scripts/build.sh", dir).CombinedOutput(); err != nil {
		t.Fatalf("scripts/build.sh %s: %v\n%s", dir, err, b)
	}
}

// bottleClient returns the path of testdata/bottleclient, built static so
// that it runs in a FROM-scratch container.
func bottleClient(t testing.TB) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	p, err := buildStatic("./testdata/bottleclient", "bottleclient")
	if err != nil {
		t.Fatal(err)
	}
	return p
}
