package planner

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// addHide folds one hidden path into the chain's list. Like
// workdir.writable, entries concatenate along extends and a path named
// twice keeps the first place that named it: a child cannot take back what
// a parent hides.
func (f *folded) addHide(h schemas.HidePlan) {
	if !slices.ContainsFunc(f.hide, func(x schemas.HidePlan) bool { return x.Path == h.Path }) {
		f.hide = append(f.hide, h)
	}
}

// absorbHide folds one manifest's hide key; short is the file name used
// in origins.
func (f *folded) absorbHide(m *schemas.Manifest, short string) {
	for i, entry := range m.Hide {
		p, why := schemas.HiddenPath(entry)
		if why != "" {
			continue // refused when the manifest was parsed
		}
		at := m.KeyAt["hide"]
		if i < len(m.HideAt) {
			at = m.HideAt[i]
		}
		at.File = short
		f.addHide(schemas.HidePlan{Path: p, Origin: at.String()})
	}
}

// formatHide writes the host paths the chain hides, for a person.
func formatHide(b *strings.Builder, hide []schemas.HidePlan) {
	if len(hide) == 0 {
		return
	}
	b.WriteString("\nHidden from a local bottle, besides the host's homes, temporary, runtime and data folders\n" +
		"(a docker bottle sees only its image and workdir):\n")
	tw := tabwriter.NewWriter(b, 2, 8, 2, ' ', 0)
	for _, h := range hide {
		fmt.Fprintf(tw, "  %s\t%s\n", schemas.ShowPath(h.Path), h.Origin)
	}
	tw.Flush()
}
