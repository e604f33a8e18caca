package mcp

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// agentText renders text an agent wrote for an operator (or an operator's
// host model): one line, control and format characters removed, bounded,
// and quoted as a Go string so it cannot end the quote or forge a line of
// ours.
func agentText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "…"
	}
	return strconv.Quote(s)
}

// releaseMessage is the notification for a request held by DLP.
func releaseMessage(p schemas.Proposal) string {
	excerpt := ""
	if p.Release != nil {
		excerpt = p.Release.Excerpt
	}
	return fmt.Sprintf("bottle %s's proxy holds a request that carries a secret: %s (proposal %s; agent's text around it, secrets replaced: %s); release it with egress_decide approve, refuse it with deny",
		p.Bottle, p.Delta, p.ID, agentText(excerpt))
}

// pushMessage is the notification for a push the git gate refused: its
// summary holds file names the agent chose, so it is rendered as the
// agent's text.
func pushMessage(p schemas.Proposal) string {
	return fmt.Sprintf("bottle %s's git gate refused a push whose new commits carry secrets (proposal %s; summary with the agent's file names: %s); release it with egress_decide approve, keep it refused with deny",
		p.Bottle, p.ID, agentText(p.Delta))
}
