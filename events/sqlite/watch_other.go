//go:build !linux

package sqlite

import "errors"

// watch has no portable way to learn that another process wrote a file;
// followers poll instead.
func watch(string, func()) (func(), error) {
	return nil, errors.New("no doorbell watcher on this platform")
}
