package egressproxy

import (
	"bytes"
	"html"
	"sort"
	"unicode/utf16"
	"unicode/utf8"
)

// A response can echo the credential transformed by the encoder that wrote
// it: JSON string escapes ("\/" from PHP's json_encode, \u00XX from
// encoders that escape every symbol), HTML character references (&#47;,
// &#x2F;, &sol;) and percent escapes (a redirect's ?next=). The masker
// looks for its patterns in a decoded view of the bytes made by each of
// these decoders, and masks the bytes that encode a match. A view records
// where each escape came from, so a decoded match maps back to whole
// escapes in the source: masking never leaves half an escape behind.

// escapeUnit is one escape of a view: the dlen decoded bytes at d came from
// the slen source bytes at s.
type escapeUnit struct{ d, s, dlen, slen int }

// view is a decoded copy of a source buffer with its escapes.
type view struct {
	dec   []byte
	units []escapeUnit // in order of d (and of s)
}

// maxEscapeLen bounds how many source bytes one decoded byte can come
// from: the longest escape the decoders accept is a named HTML reference,
// '&', a name of up to 31 characters (the longest HTML5 name) and ';'.
const maxEscapeLen = 33

// srcRange returns the source bytes [from, to) that encode the decoded
// bytes [a, b).
func (v *view) srcRange(a, b int) (from, to int) {
	return v.srcStart(a), v.srcEnd(b - 1)
}

// unitBefore returns the index of the last unit starting at or before
// decoded offset x, or -1.
func (v *view) unitBefore(x int) int {
	return sort.Search(len(v.units), func(i int) bool { return v.units[i].d > x }) - 1
}

func (v *view) srcStart(x int) int {
	i := v.unitBefore(x)
	if i < 0 {
		return x
	}
	u := v.units[i]
	if x < u.d+u.dlen {
		return u.s
	}
	return u.s + u.slen + (x - u.d - u.dlen)
}

func (v *view) srcEnd(x int) int {
	i := v.unitBefore(x)
	if i >= 0 {
		if u := v.units[i]; x < u.d+u.dlen {
			return u.s + u.slen
		}
	}
	return v.srcStart(x) + 1
}

// decoder names one kind of escape by the byte that starts it.
type decoder struct{ trigger byte }

// responseDecoders are the views the masker builds of a response: JSON
// string escapes, HTML character references, percent escapes.
var responseDecoders = []decoder{{'\\'}, {'&'}, {'%'}}

// decode decodes the escape at src[i] (whose first byte is the trigger)
// into dst, returning the extended dst and the escape's source length, or
// 0 when src[i:] is not one of its escapes. (A switch rather than a
// function value, so that src does not escape to the heap.)
func (dec decoder) decode(dst, src []byte, i int) ([]byte, int) {
	switch dec.trigger {
	case '\\':
		return decodeJSONEscape(dst, src, i)
	case '&':
		return decodeHTMLReference(dst, src, i)
	default:
		return decodePercentEscape(dst, src, i)
	}
}

// decodeView builds dec's view of src into v (reusing its buffers) and
// reports whether it holds any escape; without one the view is src itself
// and there is nothing more to find in it.
func (dec decoder) decodeView(v *view, src []byte) bool {
	first := bytes.IndexByte(src, dec.trigger)
	if first < 0 {
		return false
	}
	v.dec = append(v.dec[:0], src[:first]...)
	v.units = v.units[:0]
	for i := first; i < len(src); {
		if src[i] == dec.trigger {
			d := len(v.dec)
			out, n := dec.decode(v.dec, src, i)
			if n > 0 {
				v.dec = out
				v.units = append(v.units, escapeUnit{d: d, s: i, dlen: len(out) - d, slen: n})
				i += n
				continue
			}
		}
		j := bytes.IndexByte(src[i+1:], dec.trigger)
		if j < 0 {
			v.dec = append(v.dec, src[i:]...)
			break
		}
		v.dec = append(v.dec, src[i:i+1+j]...)
		i += 1 + j
	}
	return len(v.units) > 0
}

// decodeJSONEscape decodes a JSON string escape: \" \\ \/ \b \f \n \r \t
// and \uXXXX (a surrogate pair as one character, a lone surrogate as
// U+FFFD, as encoding/json does).
func decodeJSONEscape(dst, src []byte, i int) ([]byte, int) {
	if i+1 >= len(src) {
		return dst, 0
	}
	if c, ok := jsonSimpleEscapes[src[i+1]]; ok {
		return append(dst, c), 2
	}
	if src[i+1] != 'u' {
		return dst, 0
	}
	r, ok := hex4(src, i+2)
	if !ok {
		return dst, 0
	}
	n := 6
	if utf16.IsSurrogate(r) {
		r2, ok := rune(0), false
		if i+7 < len(src) && src[i+6] == '\\' && src[i+7] == 'u' {
			r2, ok = hex4(src, i+8)
		}
		if ok {
			if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
				r, n = pair, 12
			} else {
				r = utf8.RuneError
			}
		} else {
			r = utf8.RuneError
		}
	}
	return utf8.AppendRune(dst, r), n
}

var jsonSimpleEscapes = map[byte]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// hex4 reads four hex digits at src[i:].
func hex4(src []byte, i int) (rune, bool) {
	if i+4 > len(src) {
		return 0, false
	}
	var r rune
	for _, c := range src[i : i+4] {
		if !isHex(c) {
			return 0, false
		}
		r = r<<4 | rune(unhex(c))
	}
	return r, true
}

// decodeHTMLReference decodes an HTML character reference: &#DDD, &#xHHH
// (up to 8 digits, the ';' optional as browsers allow) or a named one
// (&sol;, and the legacy names browsers read without ';'). The decoding
// itself is html.UnescapeString's, which knows every HTML5 name.
func decodeHTMLReference(dst, src []byte, i int) ([]byte, int) {
	j := i + 1
	switch {
	case j < len(src) && src[j] == '#':
		j++
		digit := isDigit
		if j < len(src) && (src[j] == 'x' || src[j] == 'X') {
			j++
			digit = isHex
		}
		start := j
		for j < len(src) && j-start < 8 && digit(src[j]) {
			j++
		}
		if j == start {
			return dst, 0
		}
	default:
		start := j
		for j < len(src) && j-start < 31 && isAlnum(src[j]) {
			j++
		}
		if j == start {
			return dst, 0
		}
	}
	if j < len(src) && src[j] == ';' {
		j++
	}
	ref := string(src[i:j])
	out := html.UnescapeString(ref)
	if out == ref {
		return dst, 0
	}
	return append(dst, out...), j - i
}

// decodePercentEscape decodes %XX.
func decodePercentEscape(dst, src []byte, i int) ([]byte, int) {
	if i+2 >= len(src) || !isHex(src[i+1]) || !isHex(src[i+2]) {
		return dst, 0
	}
	return append(dst, unhex(src[i+1])<<4|unhex(src[i+2])), 3
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}
