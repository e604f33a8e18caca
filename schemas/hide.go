package schemas

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// The manifest's `hide` key names host paths a local bottle must not see,
// besides those the local backend always hides (the host's homes, the
// bot-bottle home, temporary and runtime folders, /srv, /mnt, /var/log…):
//
//	hide: [/data/customer-dumps, /etc/my-app/credentials.env]
//
// A folder is covered by an empty tmpfs, a file by /dev/null, and a path
// that does not exist at launch has nothing to hide. Entries concatenate
// along extends: a child cannot take back what a parent hides. The workdir
// stays visible even inside a hidden folder (it is bound after). A docker
// bottle sees only its image and its workdir, so the key changes nothing
// there.

// HidePlan is one hidden path and the manifest line that named it.
type HidePlan struct {
	Path   string `json:"path"`
	Origin string `json:"origin"`
}

// HiddenPath returns the path an entry of hide names (cleaned of a
// trailing /), or why it names none. Like workdir.writable, the value is
// compared, never echoed.
func HiddenPath(entry string) (string, string) {
	p := entry
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	switch {
	case p == "":
		return "", "must name a host path"
	case strings.HasPrefix(p, "~"):
		return "", "must be an absolute path (~ is not expanded)"
	case !strings.HasPrefix(p, "/"):
		return "", "must be an absolute host path"
	case p == "/":
		return "", "cannot hide the whole file system"
	case len(p) > 4096:
		return "", "is longer than 4096 bytes"
	case !utf8.ValidString(p) || strings.ContainsFunc(p, unsafeRune):
		return "", "must not contain control, invisible or bidi characters"
	case path.Clean(p) != p:
		return "", "must be written without ., .. or empty segments"
	}
	return p, ""
}

func (m *Manifest) validateHide() Errors {
	var errs Errors
	first := map[string]int{}
	for i, entry := range m.Hide {
		at := itemAt(m.HideAt, i, m.KeyAt["hide"])
		key := fmt.Sprintf("hide[%d]", i)
		p, why := HiddenPath(entry)
		if why != "" {
			errs = append(errs, &Error{At: at, Key: key, Msg: why, Hint: "e.g. hide: [/data/exports, /etc/my-app/credentials.env]"})
			continue
		}
		if j, dup := first[p]; dup {
			errs = append(errs, &Error{At: at, Key: key, Msg: fmt.Sprintf("names the path of hide[%d] again", j)})
			continue
		}
		first[p] = i
	}
	return errs
}
