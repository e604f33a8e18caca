package dlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"slices"
)

// MinValueLen is the shortest value (and encoded form of one) that is
// looked for: shorter strings occur in ordinary traffic by chance.
const MinValueLen = 8

// Values finds known secret values in data, in every form Patterns lists,
// hex in any case, in the data as sent and in its decoded views. It is
// immutable and safe for concurrent use.
type Values struct {
	exact  [][]byte // raw and base64 forms
	hexLow [][]byte // lower-case hex forms, matched against lower-cased data
	maxLen int
}

// NewValues returns a matcher for vals; values shorter than MinValueLen
// are skipped (ShortValues lists them).
func NewValues(vals []string) *Values {
	v := &Values{}
	seen := map[string]bool{}
	for _, val := range vals {
		if len(val) < MinValueLen {
			continue
		}
		h := hex.EncodeToString([]byte(val))
		for _, p := range Patterns(val) {
			if seen[p] {
				continue
			}
			seen[p] = true
			switch {
			case p == h:
				v.hexLow = append(v.hexLow, []byte(p))
			case len(p) == len(h) && bytes.EqualFold([]byte(p), []byte(h)):
				// upper-case hex: found through the folded lower-case form
			default:
				v.exact = append(v.exact, []byte(p))
			}
			v.maxLen = max(v.maxLen, len(p))
		}
	}
	return v
}

// Empty reports whether there is nothing to look for.
func (v *Values) Empty() bool { return v == nil || len(v.exact)+len(v.hexLow) == 0 }

// MaxLen is the length of the longest form looked for.
func (v *Values) MaxLen() int {
	if v == nil {
		return 0
	}
	return v.maxLen
}

// Contains reports whether data carries a value, as sent or in a decoded
// view.
func (v *Values) Contains(data []byte, s *Scratch) bool {
	_, _, ok := v.index(data, s)
	return ok
}

// index finds the first view of data that carries a value and where.
func (v *Values) index(data []byte, s *Scratch) (start, end int, found bool) {
	if v.Empty() {
		return 0, 0, false
	}
	if s == nil {
		s = &Scratch{}
	}
	forEachView(data, &s.views, func(view []byte) bool {
		start, end, found = v.indexIn(view, s)
		return !found
	})
	return start, end, found
}

// indexIn finds a value in one view.
func (v *Values) indexIn(view []byte, s *Scratch) (int, int, bool) {
	for _, p := range v.exact {
		if i := bytes.Index(view, p); i >= 0 {
			return i, i + len(p), true
		}
	}
	if len(v.hexLow) == 0 || !hasHexLetter(view) {
		for _, p := range v.hexLow {
			if i := bytes.Index(view, p); i >= 0 {
				return i, i + len(p), true
			}
		}
		return 0, 0, false
	}
	s.lower = appendLower(s.lower[:0], view)
	for _, p := range v.hexLow {
		if i := bytes.Index(s.lower, p); i >= 0 {
			return i, i + len(p), true
		}
	}
	return 0, 0, false
}

// eachIn calls fn with every occurrence of a value's form in one view,
// hex forms found in any case.
func (v *Values) eachIn(view []byte, s *Scratch, fn func(start, end int)) {
	each := func(hay []byte, p []byte) {
		for at := 0; at+len(p) <= len(hay); {
			i := bytes.Index(hay[at:], p)
			if i < 0 {
				return
			}
			fn(at+i, at+i+len(p))
			at += i + len(p)
		}
	}
	for _, p := range v.exact {
		each(view, p)
	}
	if len(v.hexLow) == 0 {
		return
	}
	hay := view
	if hasHexLetter(view) {
		s.lower = appendLower(s.lower[:0], view)
		hay = s.lower
	}
	for _, p := range v.hexLow {
		each(hay, p)
	}
}

// hasHexLetter reports whether b has an upper-case hex letter, the only
// thing lower-casing could change for a hex match.
func hasHexLetter(b []byte) bool {
	for _, c := range []byte("ABCDEF") {
		if bytes.IndexByte(b, c) >= 0 {
			return true
		}
	}
	return false
}

// SplitAcross reports whether the concatenation of some of parts, in some
// order, carries a value as sent: a value split across several header
// values, which a server (or the application behind it) may join. The
// first part holding a piece ends with the value's start, the pieces in
// the middle are whole parts, the last starts with the value's end. Only
// the data-as-sent forms are chained; each part's own decoded views are
// for Contains.
func (v *Values) SplitAcross(parts [][]byte) bool {
	if v.Empty() || len(parts) < 2 {
		return false
	}
	for _, p := range slices.Concat(v.exact, v.hexLow) {
		if chained(p, parts) {
			return true
		}
	}
	return false
}

// chained reports whether p = suffix(a) + whole(b)... + prefix(z) for
// parts a, b, ..., z (a part may serve more than once), comparing hex
// case-insensitively. It looks only where a part's last byte (for a first
// piece) or first byte (for the others) fits p, so headers cost little.
func chained(p []byte, parts [][]byte) bool {
	fold := isLowerHex(p)
	eq := bytes.Equal
	if fold {
		eq = bytes.EqualFold
	}
	same := func(a, b byte) bool {
		return a == b || fold && a|0x20 == b|0x20
	}
	var reached []bool // positions of p covered so far, from a first piece
	for _, a := range parts {
		if len(a) == 0 {
			continue
		}
		last := a[len(a)-1]
		limit := min(len(p)-1, len(a))
		for at := 0; at < limit; {
			// the next place in p where a's last byte fits
			i := bytes.IndexByte(p[at:limit], last)
			if fold && last|0x20 != last {
				if j := bytes.IndexByte(p[at:limit], last|0x20); j >= 0 && (i < 0 || j < i) {
					i = j
				}
			}
			if i < 0 {
				break
			}
			n := at + i + 1
			if eq(a[len(a)-n:], p[:n]) {
				if reached == nil {
					reached = make([]bool, len(p)+1)
				}
				reached[n] = true
			}
			at = n
		}
	}
	if reached == nil {
		return false
	}
	for pos := 1; pos < len(p); pos++ {
		if !reached[pos] {
			continue
		}
		rest := p[pos:]
		for _, b := range parts {
			if len(b) == 0 || !same(b[0], rest[0]) {
				continue
			}
			if len(b) >= len(rest) && eq(b[:len(rest)], rest) {
				return true
			}
			if len(b) < len(rest) && eq(b, rest[:len(b)]) {
				reached[pos+len(b)] = true
			}
		}
	}
	return false
}

func isLowerHex(p []byte) bool {
	for _, c := range p {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Patterns returns the forms of value that are looked for: the value, its
// lower- and upper-case hex, and the part of its base64 (standard and URL
// alphabets) that is fixed whatever bytes surround it, for each of the
// three alignments it can have in the encoded stream. Forms shorter than
// MinValueLen are left out; a value shorter than that has none.
func Patterns(value string) []string {
	if len(value) < MinValueLen {
		return nil // its encodings would be as common as it is short
	}
	var out []string
	add := func(p string) {
		if len(p) >= MinValueLen && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	add(value)
	h := hex.EncodeToString([]byte(value))
	add(h)
	add(string(bytes.ToUpper([]byte(h))))
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for align := range 3 {
			add(stableBase64(enc, value, align))
		}
	}
	return out
}

// stableBase64 returns the characters of the base64 encoding of value,
// placed align bytes after a 3-byte boundary, that depend on value's bytes
// alone. Base64 character i covers bits [6i, 6i+6) of the input; it is
// fixed when those bits all fall inside the value.
func stableBase64(enc *base64.Encoding, value string, align int) string {
	in := make([]byte, align+len(value))
	copy(in[align:], value)
	s := enc.EncodeToString(in)
	first := (8*align + 5) / 6           // ceil(8*align/6)
	last := 8 * (align + len(value)) / 6 // floor: the first character that runs past the value
	last = min(last, len(s))
	if first >= last {
		return ""
	}
	return s[first:last]
}
