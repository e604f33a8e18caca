package egressproxy

import (
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// minPatternLen is the shortest encoded form of a token the proxy looks for.
// Shorter strings occur in ordinary traffic by chance; a token that short is
// not scanned for at all (New logs which slot).
const minPatternLen = 8

// tokenPatterns returns the forms in which a token may travel that the
// scanner looks for: the raw value, its lower- and upper-case hex, and the
// part of its base64 (standard and URL alphabets) that is fixed whatever
// bytes surround the token, for each of the three alignments the token can
// have in the encoded stream. Percent-encoded forms of all of these are
// found by scanning a percent-decoded view of the data (see scanner).
func tokenPatterns(tok string) []string {
	if len(tok) < minPatternLen {
		return nil // its encodings would be as common as the token is short
	}
	var out []string
	add := func(p string) {
		if len(p) >= minPatternLen && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	add(tok)
	h := hex.EncodeToString([]byte(tok))
	add(h)
	add(strings.ToUpper(h))
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for align := 0; align < 3; align++ {
			add(stableBase64(enc, tok, align))
		}
	}
	return out
}

// stableBase64 returns the characters of the base64 encoding of tok, placed
// align bytes after a 3-byte boundary, that depend on tok's bytes alone.
// Base64 character i covers bits [6i, 6i+6) of the input; it is fixed when
// those bits all fall inside the token.
func stableBase64(enc *base64.Encoding, tok string, align int) string {
	in := make([]byte, align+len(tok))
	copy(in[align:], tok)
	s := enc.EncodeToString(in)
	first := (8*align + 5) / 6         // ceil(8*align/6)
	last := 8 * (align + len(tok)) / 6 // floor: the first character that runs past the token
	if last > len(s) {
		last = len(s)
	}
	if first >= last {
		return ""
	}
	return s[first:last]
}

// shortTokenSlots returns the slots whose token is too short to scan for.
func shortTokenSlots(tokens map[string]schemas.Secret) []string {
	var short []string
	for slot, tok := range tokens {
		if !tok.IsZero() && len(tok.Reveal()) < minPatternLen {
			short = append(short, slot)
		}
	}
	slices.Sort(short)
	return short
}
