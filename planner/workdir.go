package planner

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// addWritable folds workdir.writable entries into the chain's list. Opt-ins
// concatenate along extends, like routes, and a path named twice keeps the
// first place that named it: a child cannot take back what a parent opted
// in, so a bottle that must keep a path protected does not extend one that
// opens it (plan shows where each opt-in came from).
func (f *folded) addWritable(w schemas.WritablePlan) {
	if !slices.ContainsFunc(f.writable, func(x schemas.WritablePlan) bool { return x.Path == w.Path }) {
		f.writable = append(f.writable, w)
	}
}

// absorbWorkdir folds one manifest's workdir key; short is the file name
// used in origins.
func (f *folded) absorbWorkdir(w *schemas.Workdir, short string) {
	if w == nil {
		return
	}
	for i, entry := range w.Writable {
		name, why := schemas.WritableName(entry)
		if why != "" {
			continue // refused when the manifest was parsed
		}
		at := w.KeyAt["writable"]
		if i < len(w.WritableAt) {
			at = w.WritableAt[i]
		}
		at.File = short
		f.addWritable(schemas.WritablePlan{Path: name, Origin: at.String()})
	}
}

// workdirPlan lists the protected paths, minus those opted back in, in the
// order of schemas.ProtectedPaths.
func workdirPlan(writable []schemas.WritablePlan) schemas.WorkdirPlan {
	wp := schemas.WorkdirPlan{Protected: []schemas.ProtectedPlan{}, Writable: slices.Clone(writable)}
	for _, p := range schemas.ProtectedPaths {
		if !slices.ContainsFunc(writable, func(w schemas.WritablePlan) bool { return w.Path == p.Name }) {
			wp.Protected = append(wp.Protected, schemas.ProtectedPlan{Path: p.Name, Why: p.Why})
		}
	}
	return wp
}

// formatWorkdir writes the protected and opted-in workdir paths for a
// person.
func formatWorkdir(b *strings.Builder, wp schemas.WorkdirPlan) {
	b.WriteString("\nWorkdir: read-only in the bottle, existing or not (the host runs or trusts these):\n")
	tw := tabwriter.NewWriter(b, 2, 8, 2, ' ', 0)
	for _, p := range wp.Protected {
		fmt.Fprintf(tw, "  %s\t%s\n", p.Path, p.Why)
	}
	tw.Flush()
	b.WriteString("  and, found at launch: the same names up to 3 folders deep, nested repositories' hooks and config,\n" +
		"  the folder core.hooksPath names, files a git include names, and .git itself when there is none\n")
	if len(wp.Writable) > 0 {
		b.WriteString("Workdir paths opted back in (writable):\n")
		tw = tabwriter.NewWriter(b, 2, 8, 2, ' ', 0)
		for _, w := range wp.Writable {
			fmt.Fprintf(tw, "  %s\t%s\n", w.Path, w.Origin)
		}
		tw.Flush()
	}
}
