package egressproxy

import (
	"slices"

	"github.com/bot-bottle/bot-bottle/dlp"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// minPatternLen is the shortest encoded form of a token the proxy looks for.
// Shorter strings occur in ordinary traffic by chance; a token that short is
// not scanned for at all (New logs which slot).
const minPatternLen = dlp.MinValueLen

// tokenPatterns returns the forms in which a token may travel that the
// scanner looks for (see dlp.Patterns); percent-, JSON-escaped and
// line-broken forms of all of these are found by scanning decoded views.
func tokenPatterns(tok string) []string { return dlp.Patterns(tok) }

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
