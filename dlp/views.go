package dlp

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// A secret reaches a server in whatever form the server decodes: a query
// or form value percent-escaped, a JSON string with \u escapes, a MIME body
// whose base64 is broken into 76-character lines. The detectors therefore
// look at data as sent and at up to two decoded views of it: each view
// undoes one layer of escapes (percent, JSON and \x escapes) and drops line
// breaks, so an escaped, doubly escaped or line-broken secret is contiguous
// in one of them.

// ViewRounds is how many decoded views there are beyond the data as sent.
const ViewRounds = 2

// MaxViewGrowth is the most a secret's form in the data can be longer than
// its form in the last decoded view, per character: each round undoes an
// escape of at most 6 characters (\u0041) per character.
const MaxViewGrowth = 6 * 6

// viewScratch holds the decoded views' buffers, reused across calls.
type viewScratch [ViewRounds][]byte

// forEachView calls fn with data and then with each decoded view that
// differs from the one before, until fn returns false.
func forEachView(data []byte, s *viewScratch, fn func(v []byte) bool) {
	if !fn(data) {
		return
	}
	v := data
	for round := range ViewRounds {
		if !needsDecoding(v) {
			return
		}
		s[round] = appendUnescaped(s[round][:0], v)
		v = s[round]
		if !fn(v) {
			return
		}
	}
}

// needsDecoding reports whether unescaping b could change it.
func needsDecoding(b []byte) bool {
	return bytes.IndexByte(b, '%') >= 0 || bytes.IndexByte(b, '\\') >= 0 ||
		bytes.IndexByte(b, '\n') >= 0 || bytes.IndexByte(b, '\r') >= 0
}

// Unescape returns b with one layer of escapes undone and line breaks
// dropped: the first decoded view.
func Unescape(b []byte) []byte { return appendUnescaped(make([]byte, 0, len(b)), b) }

// appendUnescaped decodes %XX, \uXXXX (UTF-16 surrogate pairs included),
// \xXX and the one-character JSON escapes of b onto out, drops CR and LF,
// and keeps everything malformed as it is.
func appendUnescaped(out, b []byte) []byte {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '\r' || c == '\n':
			continue
		case c == '%' && i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]):
			out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
			i += 2
			continue
		case c == '\\' && i+1 < len(b):
			if n, r := jsonEscape(b[i:]); n > 0 {
				if r < utf8.RuneSelf {
					out = append(out, byte(r))
				} else {
					out = utf8.AppendRune(out, r)
				}
				i += n - 1
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// jsonEscape decodes the escape at the start of b (which starts with a
// backslash): how many bytes it spans and the rune, or 0 when malformed.
func jsonEscape(b []byte) (int, rune) {
	switch b[1] {
	case 'n':
		return 2, '\n'
	case 'r':
		return 2, '\r'
	case 't':
		return 2, '\t'
	case 'b':
		return 2, '\b'
	case 'f':
		return 2, '\f'
	case '/', '\\', '"', '\'':
		return 2, rune(b[1])
	case 'x':
		if len(b) >= 4 && isHex(b[2]) && isHex(b[3]) {
			return 4, rune(unhex(b[2])<<4 | unhex(b[3]))
		}
	case 'u':
		r, ok := hex4(b[2:])
		if !ok {
			return 0, 0
		}
		if utf16.IsSurrogate(r) {
			if len(b) >= 12 && b[6] == '\\' && b[7] == 'u' {
				if r2, ok := hex4(b[8:]); ok {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						return 12, dec
					}
				}
			}
			return 6, utf8.RuneError
		}
		return 6, r
	}
	return 0, 0
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		if !isHex(c) {
			return 0, false
		}
		r = r<<4 | rune(unhex(c))
	}
	return r, true
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
