package dlp

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/viper"
	glconfig "github.com/zricethezav/gitleaks/v8/config"
)

// The rules compiled one by one, on first use, are exactly the rules
// gitleaks translates as a whole set: same ids, same patterns, same
// entropy, secret group, keywords and allowlists; and the global allowlist
// is the same. Every rule compiles (a Detector would otherwise panic the
// first time data holds the rule's keyword).
func TestLazyRulesEqualTheWholeSet(t *testing.T) {
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(strings.NewReader(glconfig.DefaultConfig)); err != nil {
		t.Fatal(err)
	}
	var vc glconfig.ViperConfig
	if err := v.Unmarshal(&vc); err != nil {
		t.Fatal(err)
	}
	whole, err := eagerSource(vc)
	if err != nil {
		t.Fatal(err)
	}
	wholeGlobal := whole.globalAllowlists()
	lazy, err := loadRuleSourceFunc()
	if err != nil {
		t.Fatal(err)
	}
	if len(lazy.rules) < 100 || len(lazy.rules) != len(whole.rules) {
		t.Fatalf("%d rules one by one, %d in the whole set", len(lazy.rules), len(whole.rules))
	}
	for i, l := range lazy.rules {
		w := whole.rules[i].rule()
		got := l.rule()
		if got.RuleID != w.RuleID || got.Regex.String() != w.Regex.String() || got.Entropy != w.Entropy ||
			got.SecretGroup != w.SecretGroup || !slices.Equal(got.Keywords, w.Keywords) || !slices.Equal(l.keywords, w.Keywords) ||
			len(got.Allowlists) != len(w.Allowlists) {
			t.Errorf("rule %s one by one differs from the whole set's %s", got.RuleID, w.RuleID)
		}
	}
	if g := lazy.globalAllowlists(); len(g) != len(wholeGlobal) || len(g) == 0 || len(g[0].Regexes) != len(wholeGlobal[0].Regexes) {
		t.Errorf("global allowlists: %d one by one, %d in the whole set", len(g), len(wholeGlobal))
	}
	if _, err := Rules(); err != nil {
		t.Fatal(err)
	}
}

// Short data is searched keyword by keyword rather than through the trie:
// both find the same keywords at the same places, so the same rules run.
func TestShortDataFindsTheTriesKeywords(t *testing.T) {
	d, err := NewDetector(nil)
	if err != nil {
		t.Fatal(err)
	}
	type hit struct{ end, n, pattern int64 }
	for p, kw := range d.kws {
		for _, s := range []string{string(kw), "x" + string(kw) + "=" + string(kw), strings.Repeat("a", windowBefore-len(kw)) + string(kw)} {
			if len(s) > windowBefore {
				continue
			}
			lower := appendLower(nil, []byte(s))
			var naive, trie []hit
			d.keywordHits(lower, func(end, n, pattern int64) bool { naive = append(naive, hit{end, n, pattern}); return true })
			d.trie().Walk(lower, func(end, n, pattern int64) bool { trie = append(trie, hit{end, n, pattern}); return true })
			cmp := func(a, b hit) int {
				if a.end != b.end {
					return int(a.end - b.end)
				}
				return int(a.pattern - b.pattern)
			}
			slices.SortFunc(naive, cmp)
			slices.SortFunc(trie, cmp)
			if !slices.Equal(naive, trie) {
				t.Fatalf("keyword %d %q in %q: searched %v, trie %v", p, kw, s, naive, trie)
			}
		}
	}
}
