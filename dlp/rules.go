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

// Rules is gitleaks' default rule set, parsed and compiled once, exactly as
// gitleaks loads it (viper over the TOML its config package embeds), less
// excludedRules and the rules that look only at file paths.
func Rules() ([]glconfig.Rule, error) { return loadRules() }

var loadRules = sync.OnceValues(func() ([]glconfig.Rule, error) {
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(strings.NewReader(glconfig.DefaultConfig)); err != nil {
		return nil, fmt.Errorf("load gitleaks rules: %w", err)
	}
	var vc glconfig.ViperConfig
	if err := v.Unmarshal(&vc); err != nil {
		return nil, fmt.Errorf("load gitleaks rules: %w", err)
	}
	cfg, err := vc.Translate()
	if err != nil {
		return nil, fmt.Errorf("load gitleaks rules: %w", err)
	}
	globalAllow = cfg.Allowlists
	var out []glconfig.Rule
	for _, r := range cfg.GetOrderedRules() {
		if r.Regex == nil || r.SkipReport || excludedRules[r.RuleID] != "" {
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b glconfig.Rule) int { return strings.Compare(a.RuleID, b.RuleID) })
	return out, nil
})

// globalAllow is gitleaks' global allowlist, set by loadRules.
var globalAllow []*glconfig.Allowlist
