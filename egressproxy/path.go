package egressproxy

import (
	"strings"
	"unicode/utf8"
)

// normalizePath checks a request path exactly as it was sent (still
// percent-encoded, without the query) and returns it decoded. ok is false
// when the path would normalise to something other than what was sent, or
// could be read two ways by the upstream; such a path is refused rather than
// guessed at. Refused:
//   - anything that does not start with "/";
//   - "." and ".." segments, also before a ";" parameter ("..;") that some
//     servers strip;
//   - empty segments ("//"), except the trailing one of "/dir/";
//   - a backslash, NUL, control characters, white space and any other byte
//     that is not allowed unescaped in a path (RFC 3986 pchar);
//   - escapes that are malformed (%g0, a lone %), that encode an unreserved
//     character (%2e, %41: the plain form is canonical), a slash or backslash
//     (%2f, %5c), NUL or a control character, or bytes that are not valid
//     UTF-8 (overlong forms such as %c0%ae included).
//
// Matching then works on the decoded path, whose segments are exactly the
// segments that were sent.
func normalizePath(raw string) (decoded string, ok bool) {
	if raw == "" || raw[0] != '/' {
		return "", false
	}
	var b strings.Builder
	escaped := false
	segStart := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '/':
			if i > 0 && !segmentOK(raw[segStart:i]) {
				return "", false
			}
			segStart = i + 1
		case c == '%':
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return "", false
			}
			v := unhex(raw[i+1])<<4 | unhex(raw[i+2])
			if isUnreserved(v) || v == '/' || v == '\\' || v < 0x20 || v == 0x7f {
				return "", false
			}
			escaped = true
			i += 2
		case !isPathChar(c):
			return "", false
		}
	}
	// The last segment may be empty ("/dir/") but not "." or "..".
	if last := raw[segStart:]; last != "" && !segmentOK(last) {
		return "", false
	}
	if !escaped {
		return raw, true
	}
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] == '%' {
			b.WriteByte(unhex(raw[i+1])<<4 | unhex(raw[i+2]))
			i += 2
			continue
		}
		b.WriteByte(raw[i])
	}
	decoded = b.String()
	if !utf8.ValidString(decoded) {
		return "", false
	}
	return decoded, true
}

// segmentOK reports whether a non-final (or non-empty final) segment is
// acceptable: not empty, not "." or "..", and not "." or ".." followed by a
// path parameter.
func segmentOK(seg string) bool {
	if seg == "" {
		return false
	}
	name, _, _ := strings.Cut(seg, ";")
	return name != "." && name != ".."
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// isUnreserved reports whether c is an RFC 3986 unreserved character, whose
// escaped and plain forms mean the same.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// isPathChar reports whether c may appear unescaped in a path: unreserved,
// sub-delims, ':' and '@' (RFC 3986 pchar), and '/'.
func isPathChar(c byte) bool {
	if isUnreserved(c) {
		return true
	}
	switch c {
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@', '/':
		return true
	}
	return false
}
