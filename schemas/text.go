package schemas

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Flatten makes text that someone else wrote (an agent, a repository)
// safe to show a person on one line: control, format (invisible and bidi)
// and line-separator characters become spaces, runs of white space become
// one, and the result is cut to at most limit characters, ending in "…"
// when cut. It cannot forge a line, move the cursor or reorder what
// follows it.
func Flatten(s string, limit int) string {
	s = strings.Map(func(r rune) rune {
		if unsafeRune(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, " "))
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > limit {
		s = strings.TrimRight(string(r[:limit]), " ") + "…"
	}
	return s
}

// ShowPath returns a path as it is when it holds no control, format (bidi,
// invisible) or invalid character, and quoted with escapes otherwise: a
// folder name cannot forge a line of the text it is shown in.
func ShowPath(p string) string {
	if !utf8.ValidString(p) {
		return strconv.Quote(p)
	}
	if strings.ContainsFunc(p, unsafeRune) {
		return strconv.Quote(p)
	}
	return p
}

// unsafeRune reports a rune that may not be shown as it is in a line a
// person reads: a control, a format character (bidi overrides, invisible
// ones) or a line or paragraph separator.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}
