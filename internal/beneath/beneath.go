package beneath

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Why a path was refused. Errors wrap one of these, so a caller can say
// what to fix without parsing text.
var (
	// ErrSymlink: the path is, or passes through, a symlink.
	ErrSymlink = errors.New("is a symlink or passes through one (symlinks are never followed here)")
	// ErrEscapes: the path leaves the folder ("..", an absolute path).
	ErrEscapes = errors.New("leaves its folder")
	// ErrNotRegular: a fifo, socket, device or other special file.
	ErrNotRegular = errors.New("is not a regular file or folder")
	// ErrTooLarge: a bound of Limits was passed.
	ErrTooLarge = errors.New("is too large")
	// ErrHardLink: a regular file with more than one link, refused when
	// Limits.RefuseHardLinks is set.
	ErrHardLink = errors.New("is hard-linked elsewhere (a checkout never makes hard links)")
	// ErrBadName: a name with control, invisible or bidi characters, or
	// not UTF-8.
	ErrBadName = errors.New("has a name with control, invisible or bidi characters")
	// ErrUnsupported: the system cannot resolve paths beneath a folder.
	ErrUnsupported = errors.New("reading beneath a folder needs Linux 5.6 or later (openat2)")
)

// Limits bound what a read may take in. Zero fields mean no bound, except
// that MaxFileBytes defaults to DefaultMaxFileBytes.
type Limits struct {
	MaxFileBytes    int64 // one file
	MaxTotalBytes   int64 // every file of a Walk (or of a Budget)
	MaxEntries      int   // files and folders of a Walk
	MaxDepth        int   // folders below the root of a Walk
	RefuseHardLinks bool
}

// DefaultMaxFileBytes bounds a file when Limits names no bound.
const DefaultMaxFileBytes = 1 << 20

// File is one regular file found by Walk.
type File struct {
	Path string // relative to the walked folder, with / separators
	Data []byte
	Exec bool // its owner may execute it
}

// Error is a refused path: the path as given (relative to the folder it
// was read beneath) and why.
type Error struct {
	Path string
	Err  error
}

// Error names the path as it is when every element of it is a CheckName
// name (or a plain absolute path), and quoted with escapes otherwise: a
// name that carries a bidi override or a line break cannot reorder or
// forge the message it is shown in.
func (e *Error) Error() string {
	p := e.Path
	for _, el := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if !CheckName(el) && el != "." && el != ".." {
			p = strconv.Quote(p)
			break
		}
	}
	return fmt.Sprintf("%s: %v", p, e.Err)
}

// Unwrap returns why.
func (e *Error) Unwrap() error { return e.Err }

// CheckName reports whether name can be one path element read from an
// untrusted folder: not empty, not . or .., no slash, UTF-8 without
// control, format (invisible, bidi) or line-break characters, at most 255
// bytes. A name that passes is safe to show a person as it is.
func CheckName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > 255 || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if r == '/' || r == '\\' || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) ||
			r == '\u2028' || r == '\u2029' || r == utf8.RuneError {
			return false
		}
	}
	return true
}
