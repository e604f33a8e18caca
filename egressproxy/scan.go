package egressproxy

import (
	"bytes"
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// decodeRounds is how many times the scanner percent-decodes what it scans,
// so that %-escaped and doubly %-escaped forms of a token are found too.
const decodeRounds = 2

// scanner finds the proxy's own token values in data that the agent sends:
// URLs, headers and bodies. It looks for every pattern of tokenPatterns in
// the data as sent and in up to decodeRounds percent-decoded views of it.
// It is immutable and safe for concurrent use.
type scanner struct {
	patterns [][]byte
	strs     []string // the same patterns, for strings
	folded   [][]byte // patterns in lower case, for case-insensitive places (header names)
	maxLen   int
}

func newScanner(tokens map[string]schemas.Secret) *scanner {
	s := &scanner{}
	seen := map[string]bool{}
	for _, tok := range tokens {
		if tok.IsZero() {
			continue
		}
		for _, p := range tokenPatterns(tok.Reveal()) {
			if seen[p] {
				continue
			}
			seen[p] = true
			s.patterns = append(s.patterns, []byte(p))
			s.strs = append(s.strs, p)
			s.folded = append(s.folded, bytes.ToLower([]byte(p)))
			s.maxLen = max(s.maxLen, len(p))
		}
	}
	return s
}

// enabled reports whether there is anything to look for.
func (s *scanner) enabled() bool { return len(s.patterns) > 0 }

// holdback is how many trailing bytes of a stream must be held back so that
// no complete pattern, in any of its encoded forms, leaves before the scan
// has seen all of it: each decoding round can triple a pattern's length.
func (s *scanner) holdback() int {
	n := s.maxLen
	for range decodeRounds {
		n *= 3
	}
	return n
}

// found reports whether b holds a token, as sent or percent-decoded.
func (s *scanner) found(b []byte) bool {
	return s.foundScratch(b, nil)
}

// foundScratch is found with a scratch buffer for the decoded views, which
// streaming callers reuse from one chunk to the next.
func (s *scanner) foundScratch(b []byte, scratch *[2][]byte) bool {
	if !s.enabled() {
		return false
	}
	if s.foundRaw(b) {
		return true
	}
	for round := range decodeRounds {
		if bytes.IndexByte(b, '%') < 0 {
			return false
		}
		var dst []byte
		if scratch != nil {
			dst = scratch[round][:0]
		}
		b = appendPercentDecoded(dst, b)
		if scratch != nil {
			scratch[round] = b
		}
		if s.foundRaw(b) {
			return true
		}
	}
	return false
}

func (s *scanner) foundString(str string) bool {
	if !s.enabled() || len(str) < minPatternLen {
		return false
	}
	for _, p := range s.strs {
		if strings.Contains(str, p) {
			return true
		}
	}
	if !strings.Contains(str, "%") {
		return false
	}
	return s.found([]byte(str))
}

// foundFolded reports whether b, compared case-insensitively, holds a token:
// for header names, which net/http re-cases before they leave.
func (s *scanner) foundFolded(b []byte) bool {
	return s.foundLower(bytes.ToLower(b))
}

// foundLower is foundFolded for data already in lower case.
func (s *scanner) foundLower(lower []byte) bool {
	for _, p := range s.folded {
		if bytes.Contains(lower, p) {
			return true
		}
	}
	return false
}

func (s *scanner) foundRaw(b []byte) bool {
	for _, p := range s.patterns {
		if bytes.Contains(b, p) {
			return true
		}
	}
	return false
}

// redactPath returns path with every segment that carries a token (as sent
// or decoded) replaced by "[redacted]".
func (s *scanner) redactPath(path string) string {
	if !s.foundString(path) {
		return path
	}
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if s.foundString(seg) {
			segs[i] = "[redacted]"
		}
	}
	out := strings.Join(segs, "/")
	if s.foundString(out) {
		return "/[redacted]"
	}
	return out
}

// percentDecode returns b with every well-formed %XX escape decoded;
// malformed escapes are kept as they are.
func percentDecode(b []byte) []byte { return appendPercentDecoded(make([]byte, 0, len(b)), b) }

func appendPercentDecoded(out, b []byte) []byte {
	for i := 0; i < len(b); i++ {
		if b[i] == '%' && i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]) {
			out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
			i += 2
			continue
		}
		out = append(out, b[i])
	}
	return out
}
