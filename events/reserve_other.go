//go:build !linux

package events

import (
	"errors"
	"os"
)

// fallocateKeepSize has no portable equivalent: the spool needs free
// space when it is written.
func fallocateKeepSize(*os.File, int64) error {
	return errors.New("cannot reserve disk space on this platform")
}
