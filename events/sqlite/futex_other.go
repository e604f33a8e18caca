//go:build !linux

package sqlite

import (
	"errors"
	"time"
)

// futexWait has no counterpart on other platforms; the bell is polled.
func futexWait(*uint32, uint32, time.Duration) error {
	return errors.ErrUnsupported
}

// futexWake has no counterpart on other platforms; the bell is polled.
func futexWake(*uint32) error { return errors.ErrUnsupported }
