package launcher

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"
)

// maxSlug bounds the readable part of a bottle id, which also names a
// container and appears in socket paths.
const maxSlug = 40

// idEncoding is lower-case base32 without padding: ids stay valid in
// container names, hostnames and paths.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a bottle id: the manifest name as a slug, a dash and six
// random base32 characters (30 bits: collisions among one machine's bottles
// are not a concern, and launch refuses an id whose run folder exists).
func NewID(name string) (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new bottle id: %w", err)
	}
	return Slug(name) + "-" + idEncoding.EncodeToString(b[:])[:6], nil
}

// Slug reduces a name to lower-case letters, digits and single dashes.
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= maxSlug {
			break
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > maxSlug {
		s = strings.TrimRight(s[:maxSlug], "-")
	}
	if s == "" {
		s = "bottle"
	}
	return s
}

// CheckID reports what is wrong with a string given as a bottle id, or ""
// when it could be one. Ids arrive from the command line and from MCP
// clients and become path elements, so this is the guard against
// "../" and friends.
func CheckID(id string) string {
	if id == "" {
		return "is empty"
	}
	if len(id) > maxSlug+7 {
		return "is too long"
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Sprintf("has %q: an id is lower-case letters, digits and dashes", r)
		}
	}
	return ""
}
