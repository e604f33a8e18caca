package egressproxy

import (
	"bytes"
	"strings"
	"sync"

	"github.com/bot-bottle/bot-bottle/dlp"
	"github.com/bot-bottle/bot-bottle/schemas"
)

// scanner finds the proxy's own token values in data that the agent sends:
// URLs, headers and bodies. It looks for every form dlp.Patterns lists
// (raw, hex in any case, base64 at any alignment) in the data as sent and
// in its decoded views (percent, JSON \u and \x escapes undone, twice;
// line breaks dropped), so an escaped, MIME-wrapped or mixed-case form is
// found too. It is immutable and safe for concurrent use.
type scanner struct {
	values   *dlp.Values
	patterns [][]byte // the forms as sent, for masking responses (reflect.go)
	strs     []string // the same patterns, for strings
	folded   [][]byte // patterns in lower case, for case-insensitive places (header names)
	maxLen   int
}

func newScanner(tokens map[string]schemas.Secret) *scanner {
	s := &scanner{}
	seen := map[string]bool{}
	var vals []string
	for _, tok := range tokens {
		if tok.IsZero() {
			continue
		}
		vals = append(vals, tok.Reveal())
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
	s.values = dlp.NewValues(vals)
	return s
}

// enabled reports whether there is anything to look for.
func (s *scanner) enabled() bool { return len(s.patterns) > 0 }

// holdback is how many trailing bytes of a stream must be held back so that
// no complete pattern, in any of its encoded forms, leaves before the scan
// has seen all of it: escapes can make a pattern dlp.MaxViewGrowth times
// longer.
func (s *scanner) holdback() int { return s.maxLen * dlp.MaxViewGrowth }

// found reports whether b holds a token, as sent or in a decoded view.
func (s *scanner) found(b []byte) bool {
	return s.foundScratch(b, nil)
}

// foundScratch is found with scratch buffers for the decoded views, which
// streaming callers reuse from one chunk to the next.
func (s *scanner) foundScratch(b []byte, scratch *dlp.Scratch) bool {
	if !s.enabled() {
		return false
	}
	if scratch == nil {
		sp := scratches.Get().(*dlp.Scratch)
		defer scratches.Put(sp)
		scratch = sp
	}
	return s.values.Contains(b, scratch)
}

// scratches are the decoded views' buffers of one-shot scans.
var scratches = sync.Pool{New: func() any { return new(dlp.Scratch) }}

// foundSplit reports whether the concatenation of some of parts (header
// values, say) holds a token: a token split across headers that a server
// or the application behind it may join.
func (s *scanner) foundSplit(parts [][]byte) bool {
	return s.enabled() && s.values.SplitAcross(parts)
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
	if !strings.ContainsAny(str, `%\`) && !hasUpperHex(str) {
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

// hasUpperHex reports whether str has an upper-case hex letter: a hex form
// of a token may be written in any case.
func hasUpperHex(str string) bool { return strings.ContainsAny(str, "ABCDEF") }

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
