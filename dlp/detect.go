package dlp

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"sync"

	ahocorasick "github.com/BobuSumisu/aho-corasick"
	glconfig "github.com/zricethezav/gitleaks/v8/config"
)

// Finding is one secret found in data: the rule that found it and where it
// lies in the data that was scanned. It never holds the secret: Start and
// End point into the caller's data, which the caller may redact.
type Finding struct {
	Rule  string // a gitleaks rule id ("aws-access-token"), or RuleKnownSecret
	Start int    // the secret's bytes are data[Start:End] of the view it was found in
	End   int
	// Decoded is set when the secret was found in a decoded view of the
	// data (escapes undone), so Start and End do not point into the data
	// as sent.
	Decoded bool
}

// RuleKnownSecret names findings of a known value (Values): a host secret
// the bottle was not given.
const RuleKnownSecret = "host-secret"

// Detector applies gitleaks' rules (and optionally a set of known values)
// to data. It is immutable and safe for concurrent use.
type Detector struct {
	rules  []*lazyRule
	global func() []*glconfig.Allowlist
	kws    [][]byte                 // the rules' keywords, lower case
	trie   func() *ahocorasick.Trie // over kws, built on first use
	byKW   [][]int                  // keyword index -> indexes of the rules that name it
	known  *Values
}

// NewDetector makes a detector of gitleaks' default rules and known.
// known may be nil. The rules' keyword index is built once per process and
// shared: every bottle's proxy and secret scan has a detector, and
// building the index took a launch tens of milliseconds of CPU. Each rule
// is compiled the first time data holds one of its keywords (see
// lazyRule).
func NewDetector(known *Values) (*Detector, error) {
	idx, err := ruleIndex()
	if err != nil {
		return nil, err
	}
	return &Detector{rules: idx.rules, global: idx.src.globalAllowlists, kws: idx.kws, trie: idx.trie, byKW: idx.byKW, known: known}, nil
}

// keywordIndex is the part of a Detector that depends on the rules only.
type keywordIndex struct {
	src   ruleSource
	rules []*lazyRule
	kws   [][]byte
	trie  func() *ahocorasick.Trie
	byKW  [][]int
}

var ruleIndex = sync.OnceValues(func() (keywordIndex, error) {
	src, err := loadRuleSource()
	if err != nil {
		return keywordIndex{}, err
	}
	rules := src.rules
	idx := keywordIndex{src: src, rules: rules}
	kwIndex := map[string]int{}
	var kws []string
	for i, r := range rules {
		for _, kw := range r.keywords {
			k, ok := kwIndex[kw]
			if !ok {
				k = len(kws)
				kwIndex[kw] = k
				kws = append(kws, kw)
				idx.kws = append(idx.kws, []byte(kw))
				idx.byKW = append(idx.byKW, nil)
			}
			if !slices.Contains(idx.byKW[k], i) {
				idx.byKW[k] = append(idx.byKW[k], i)
			}
		}
	}
	// The trie took a launch some 15 ms of CPU; data as short as a host
	// variable is scanned without it (keywordHits).
	idx.trie = sync.OnceValue(func() *ahocorasick.Trie { return ahocorasick.NewTrieBuilder().AddStrings(kws).Build() })
	return idx, nil
})

// RuleCount is how many credential rules the detector applies.
func (d *Detector) RuleCount() int { return len(d.rules) }

// Scratch holds buffers a caller reuses from one Find to the next.
type Scratch struct {
	lower   []byte
	hit     []bool
	windows [][]window
	views   viewScratch
}

// Find returns the secrets in data, in the data as sent and in its decoded
// views (Views): gitleaks' rules first, then the known values. A finding in
// a decoded view that was also found as sent is reported once, as sent.
func (d *Detector) Find(data []byte, s *Scratch) []Finding {
	if s == nil {
		s = &Scratch{}
	}
	var out []Finding
	seen := map[string]bool{} // the secrets found as sent, by their text
	decoded := false
	forEachView(data, &s.views, func(v []byte) bool {
		add := func(f Finding) {
			text := string(v[f.Start:f.End])
			if decoded && seen[text] {
				return // the same secret, already found where it was sent
			}
			if !decoded {
				seen[text] = true
			}
			f.Decoded = decoded
			out = append(out, f)
		}
		for _, f := range d.findRules(v, s) {
			add(f)
		}
		if !d.known.Empty() { // this view only: the loop is already over the views
			d.known.eachIn(v, s, func(start, end int) {
				add(Finding{Rule: RuleKnownSecret, Start: start, End: end})
			})
		}
		decoded = true
		return true
	})
	return out
}

// Windows around keyword hits: gitleaks' rules name the keyword inside
// the match (mostly at most 50 characters before the secret, which follows
// within a few hundred), so each rule's regex runs only on the data around
// its keywords' hits, not on all of it. Go's regexp runs these patterns at
// about 1 MB/s; the windows keep a body's cost in proportion to its hits.
const (
	windowBefore = 256
	windowAfter  = 4 << 10 // room for a JWT or a private key block
)

// findRules applies the rules whose keywords occur in v, each on the
// windows around its keywords' hits.
func (d *Detector) findRules(v []byte, s *Scratch) []Finding {
	s.lower = appendLower(s.lower[:0], v)
	if cap(s.hit) < len(d.rules) {
		s.hit = make([]bool, len(d.rules))
		s.windows = make([][]window, len(d.rules))
	}
	hit := s.hit[:len(d.rules)]
	clear(hit)
	wins := s.windows[:len(d.rules)]
	any := false
	d.keywordHits(s.lower, func(end, n, pattern int64) bool {
		start := int(end - n + 1)
		lo, hi := max(0, start-windowBefore), min(len(v), int(end)+1+windowAfter)
		for _, i := range d.byKW[pattern] {
			if !hit[i] {
				hit[i], any = true, true
				wins[i] = wins[i][:0]
			}
			if k := len(wins[i]) - 1; k >= 0 && lo <= wins[i][k].hi {
				wins[i][k].hi = max(wins[i][k].hi, hi)
			} else {
				wins[i] = append(wins[i], window{lo, hi})
			}
		}
		return true
	})
	if !any {
		return nil
	}
	var out []Finding
	for i, on := range hit {
		if !on {
			continue
		}
		for _, w := range wins[i] {
			for _, f := range d.findRule(d.rules[i].rule(), string(v[w.lo:w.hi])) {
				f.Start += w.lo
				f.End += w.lo
				out = append(out, f)
			}
		}
	}
	return out
}

// keywordHits calls fn for every occurrence of a keyword in lower (end:
// the index of its last byte, n: its length, pattern: its index in kws).
// Data no longer than windowBefore is searched keyword by keyword: every
// window in it is the whole data, so the order of the hits does not
// matter, and the index is never built for a launch that only checks its
// host variables. Longer data goes through the trie, in order of end.
func (d *Detector) keywordHits(lower []byte, fn func(end, n, pattern int64) bool) {
	if len(lower) > windowBefore {
		d.trie().Walk(lower, fn)
		return
	}
	for p, kw := range d.kws {
		for off := 0; off+len(kw) <= len(lower); {
			i := bytes.Index(lower[off:], kw)
			if i < 0 {
				break
			}
			if !fn(int64(off+i+len(kw)-1), int64(len(kw)), int64(p)) {
				return
			}
			off += i + 1
		}
	}
}

// window is a span of the data a rule's regex runs on.
type window struct{ lo, hi int }

// findRule is gitleaks' detectRule for data that has no path or commit:
// the regex, the secret group, the entropy threshold, then the global and
// the rule's allowlists.
func (d *Detector) findRule(r *glconfig.Rule, s string) []Finding {
	var out []Finding
	for _, m := range r.Regex.FindAllStringSubmatchIndex(s, -1) {
		start, end := m[0], m[1]
		match := strings.Trim(s[start:end], "\n")
		end = start + len(match)
		secStart, secEnd := start, end
		if groups := len(m) / 2; groups >= 2 {
			g := r.SecretGroup
			if g == 0 {
				for k := 1; k < groups; k++ {
					if m[2*k] >= 0 && m[2*k+1] > m[2*k] {
						g = k
						break
					}
				}
			}
			if g > 0 && g < groups && m[2*g] >= 0 {
				secStart, secEnd = m[2*g], min(m[2*g+1], end)
			}
		}
		secret := s[secStart:secEnd]
		if r.Entropy != 0 && entropy(secret) <= r.Entropy {
			continue
		}
		line := lineAround(s, start, end)
		if allowed(d.global(), secret, match, line) || allowed(r.Allowlists, secret, match, line) {
			continue
		}
		out = append(out, Finding{Rule: r.RuleID, Start: secStart, End: secEnd})
	}
	return out
}

// allowed is gitleaks' checkFindingAllowed without commits and paths: an
// allowlist that needs a commit or a path (condition AND) never admits
// data that has neither.
func allowed(lists []*glconfig.Allowlist, secret, match, line string) bool {
	for _, a := range lists {
		target := secret
		switch a.RegexTarget {
		case "match":
			target = match
		case "line":
			target = line
		}
		regexOK := a.RegexAllowed(target)
		stopOK, _ := a.ContainsStopWord(secret)
		if a.MatchCondition == glconfig.AllowlistMatchAnd {
			if len(a.Commits) > 0 || len(a.Paths) > 0 {
				continue
			}
			ok := len(a.Regexes) > 0 || len(a.StopWords) > 0
			if len(a.Regexes) > 0 {
				ok = ok && regexOK
			}
			if len(a.StopWords) > 0 {
				ok = ok && stopOK
			}
			if ok {
				return true
			}
			continue
		}
		if regexOK || stopOK {
			return true
		}
	}
	return false
}

// lineAround returns the line of s that holds s[start:end].
func lineAround(s string, start, end int) string {
	ls := strings.LastIndexByte(s[:start], '\n') + 1
	le := strings.IndexByte(s[end:], '\n')
	if le < 0 {
		return s[ls:]
	}
	return s[ls : end+le]
}

// entropy is the Shannon entropy of s in bits per character, as gitleaks
// computes it.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	counts := map[rune]int{}
	for _, c := range s {
		counts[c]++
	}
	var e float64
	inv := 1 / float64(len(s))
	for _, n := range counts {
		f := float64(n) * inv
		e -= f * math.Log2(f)
	}
	return e
}

// appendLower appends b in ASCII lower case to dst.
func appendLower(dst, b []byte) []byte {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
