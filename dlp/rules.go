package dlp

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/viper"
	glconfig "github.com/zricethezav/gitleaks/v8/config"
)

// excludedRules are gitleaks rules left out of the default set, each for a
// reason: they would refuse ordinary traffic an agent sends all day.
var excludedRules = map[string]string{
	// Any "key = <high-entropy word>" in source code: every conversation
	// an agent has with its model carries some. Specific credential
	// formats are what DLP refuses.
	"generic-api-key": "matches any high-entropy assignment in source code",
}

// Rules is gitleaks' default rule set, parsed and compiled, exactly as
// gitleaks loads it (viper over the TOML its config package embeds), less
// excludedRules and the rules that look only at file paths. It compiles
// every rule; a Detector compiles each only when data first holds one of
// its keywords (see lazyRule).
func Rules() ([]glconfig.Rule, error) {
	src, err := loadRuleSource()
	if err != nil {
		return nil, err
	}
	out := make([]glconfig.Rule, len(src.rules))
	for i, r := range src.rules {
		c, err := r.compiled()
		if err != nil {
			return nil, err
		}
		out[i] = *c
	}
	return out, nil
}

// A rule is compiled on first use, not at start: translating gitleaks'
// 200-odd rules compiles some 400 regular expressions, which was a fifth
// of a launch's CPU, and most of them never run in a bottle's life (a
// rule runs only on data that holds one of its keywords). Each rule is
// translated alone by gitleaks' own Translate, so it gets exactly the
// checks and the allowlists it would get in the whole set.

// ruleSource is the parsed rule set: every rule's keywords, each rule's
// source kept for its translation.
type ruleSource struct {
	rules []*lazyRule
	// global is gitleaks' global allowlist, compiled on first use.
	global func() ([]*glconfig.Allowlist, error)
}

// lazyRule is one rule: its id and keywords now, the rest when compiled.
type lazyRule struct {
	id       string
	keywords []string // lower case
	compiled func() (*glconfig.Rule, error)
}

// rule returns r compiled. The default set is embedded and every rule of
// it is compiled by the package's tests, so a failure here is a broken
// build of gitleaks' config: the detector cannot apply the rule and must
// not pretend it did.
func (r *lazyRule) rule() *glconfig.Rule {
	c, err := r.compiled()
	if err != nil {
		panic(fmt.Sprintf("dlp: gitleaks rule %s: %v", r.id, err))
	}
	return c
}

var loadRuleSource = sync.OnceValues(loadRuleSourceFunc)

// loadRuleSourceFunc parses gitleaks' default set into lazy rules.
func loadRuleSourceFunc() (ruleSource, error) {
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(strings.NewReader(glconfig.DefaultConfig)); err != nil {
		return ruleSource{}, fmt.Errorf("load gitleaks rules: %w", err)
	}
	var vc glconfig.ViperConfig
	if err := v.Unmarshal(&vc); err != nil {
		return ruleSource{}, fmt.Errorf("load gitleaks rules: %w", err)
	}
	if vc.Extend.Path != "" || vc.Extend.UseDefault || targetsRules(vc) {
		// A set that draws on another, or whose allowlists name their
		// rules, is translated whole: its rules are not independent.
		return eagerSource(vc)
	}
	globals := vc
	globals.Rules = nil
	var src ruleSource
	src.global = sync.OnceValues(func() ([]*glconfig.Allowlist, error) {
		cfg, err := globals.Translate()
		if err != nil {
			return nil, fmt.Errorf("load gitleaks rules: global allowlist: %w", err)
		}
		return cfg.Allowlists, nil
	})
	byID := map[string]*lazyRule{} // a later rule of the same id replaces the earlier, as in Translate
	for i, vr := range vc.Rules {
		if vr.Regex == "" || vr.SkipReport || excludedRules[vr.ID] != "" {
			continue
		}
		one := glconfig.ViperConfig{MinVersion: vc.MinVersion, Rules: vc.Rules[i : i+1 : i+1]}
		kws := make([]string, len(vr.Keywords))
		for k, kw := range vr.Keywords {
			kws[k] = strings.ToLower(kw)
		}
		r := &lazyRule{id: vr.ID, keywords: kws, compiled: sync.OnceValues(func() (*glconfig.Rule, error) {
			cfg, err := one.Translate()
			if err != nil {
				return nil, fmt.Errorf("load gitleaks rules: %w", err)
			}
			c, ok := cfg.Rules[vr.ID]
			if !ok || c.Regex == nil {
				return nil, fmt.Errorf("load gitleaks rules: rule %s has no regex after translation", vr.ID)
			}
			return &c, nil
		})}
		if old, ok := byID[vr.ID]; ok {
			*old = *r
			continue
		}
		byID[vr.ID] = r
		src.rules = append(src.rules, r)
	}
	slices.SortFunc(src.rules, func(a, b *lazyRule) int { return strings.Compare(a.id, b.id) })
	return src, nil
}

// targetsRules reports whether a global allowlist of vc applies to named
// rules only.
func targetsRules(vc glconfig.ViperConfig) bool {
	for _, a := range vc.Allowlists {
		if len(a.TargetRules) > 0 {
			return true
		}
	}
	return false
}

// eagerSource translates vc whole and wraps its rules as compiled.
func eagerSource(vc glconfig.ViperConfig) (ruleSource, error) {
	cfg, err := vc.Translate()
	if err != nil {
		return ruleSource{}, fmt.Errorf("load gitleaks rules: %w", err)
	}
	src := ruleSource{global: func() ([]*glconfig.Allowlist, error) { return cfg.Allowlists, nil }}
	for _, r := range cfg.GetOrderedRules() {
		if r.Regex == nil || r.SkipReport || excludedRules[r.RuleID] != "" {
			continue
		}
		c := r
		src.rules = append(src.rules, &lazyRule{id: r.RuleID, keywords: r.Keywords,
			compiled: func() (*glconfig.Rule, error) { return &c, nil }})
	}
	slices.SortFunc(src.rules, func(a, b *lazyRule) int { return strings.Compare(a.id, b.id) })
	return src, nil
}

// globalAllowlists returns the global allowlist; see lazyRule.rule for why
// a failure is a panic.
func (s ruleSource) globalAllowlists() []*glconfig.Allowlist {
	a, err := s.global()
	if err != nil {
		panic("dlp: " + err.Error())
	}
	return a
}
