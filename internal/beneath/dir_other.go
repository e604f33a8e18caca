//go:build !linux

package beneath

// Dir is a folder opened for reading beneath it; without openat2 it cannot
// be opened.
type Dir struct{}

// Open fails closed: this system cannot resolve paths beneath a folder.
func Open(p string, followLast bool) (*Dir, error) { return nil, &Error{Path: p, Err: ErrUnsupported} }

// Name is never reached.
func (d *Dir) Name() string { return "" }

// Close is never reached.
func (d *Dir) Close() error { return nil }

// OpenDir is never reached.
func (d *Dir) OpenDir(rel string) (*Dir, error) { return nil, &Error{Path: rel, Err: ErrUnsupported} }

// Names is never reached.
func (d *Dir) Names() ([]string, error) { return nil, ErrUnsupported }

// ReadFile is never reached.
func (d *Dir) ReadFile(rel string, lim Limits) ([]byte, error) {
	return nil, &Error{Path: rel, Err: ErrUnsupported}
}

// Walk is never reached.
func (d *Dir) Walk(lim Limits) ([]File, error) { return nil, ErrUnsupported }
