//go:build linux && !amd64 && !arm64

package bottleinit

import (
	"fmt"
	"runtime"
)

// tables: no table for this architecture, so a bottle that needs the
// filter is refused rather than started without it.
func (f Filter) tables() ([]archRules, error) {
	return nil, fmt.Errorf("seccomp filter: no system call table for %s: bottles that need the filter run on amd64 and arm64 only", runtime.GOARCH)
}
