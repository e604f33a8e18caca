// Package testreq decides what a test does when a tool it drives (node,
// busybox, chromium, a backend) is missing: skip on a developer's machine,
// fail in CI, where scripts/setup.sh installs everything and
// BOT_BOTTLE_REQUIRE_DOCKER is set, so no test can pass by not running.
// Imported only by tests.
package testreq

import (
	"os"
	"testing"
)

// Missing skips the test, or fails it when CI asked for every test to run.
func Missing(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("BOT_BOTTLE_REQUIRE_DOCKER") != "" {
		t.Fatalf("%s is missing and BOT_BOTTLE_REQUIRE_DOCKER is set (scripts/setup.sh installs it): %v", what, err)
	}
	t.Skipf("%s is missing: %v", what, err)
}
