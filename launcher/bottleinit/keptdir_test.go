//go:build linux

package bottleinit

import "testing"

func TestKernelAtLeast(t *testing.T) {
	for release, want := range map[string]bool{
		"6.13.0": true, "6.18.44-fc-v1272": true, "7.0": true, "6.12.8-arch1": false, "5.15.0-91-generic": false,
		"garbage": true, // unreadable: no warning rather than a false one
	} {
		if got := kernelAtLeast(release, 6, 13); got != want {
			t.Errorf("kernelAtLeast(%q, 6, 13) = %v, want %v", release, got, want)
		}
	}
}
