package planner

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// resourceFields is resources after folding: each limit last-wins like
// any scalar, with where it was set (absent: not set anywhere yet).
type resourceFields struct {
	memory *schemas.MemoryLimit
	cpus   *schemas.CPULimit
	pids   *schemas.PidsLimit
	origin map[string]string // field -> file:line:col
}

// overlayManifest sets every limit the manifest r (of file short) set.
func (rf *resourceFields) overlayManifest(r *schemas.Resources, short string) {
	if r == nil {
		return
	}
	src := resourceFields{memory: r.Memory, cpus: r.CPUs, pids: r.Pids, origin: map[string]string{}}
	for field, at := range r.KeyAt {
		at.File = short
		src.origin[field] = at.String()
	}
	rf.overlay(src)
}

// overlay sets every limit src set, last-wins. A key written with no
// value (`memory:`) decodes to nil: it says nothing, so it overrides nothing.
func (rf *resourceFields) overlay(src resourceFields) {
	if rf.origin == nil {
		rf.origin = map[string]string{}
	}
	if src.memory != nil {
		rf.memory, rf.origin["memory"] = src.memory, src.origin["memory"]
	}
	if src.cpus != nil {
		rf.cpus, rf.origin["cpus"] = src.cpus, src.origin["cpus"]
	}
	if src.pids != nil {
		rf.pids, rf.origin["pids"] = src.pids, src.origin["pids"]
	}
}

// plan applies the defaults: DefaultPids, memory and cpus unlimited.
func (rf *resourceFields) plan() schemas.PlannedResources {
	out := schemas.PlannedResources{Pids: schemas.DefaultPids, Origin: map[string]string{
		"memory": schemas.OriginDefault, "cpus": schemas.OriginDefault, "pids": schemas.OriginDefault}}
	for f, at := range rf.origin {
		out.Origin[f] = at
	}
	if rf.memory != nil {
		out.MemoryBytes = int64(*rf.memory)
	}
	if rf.cpus != nil {
		out.CPUs = rf.cpus.CPUs()
	}
	if rf.pids != nil {
		out.Pids = int64(*rf.pids)
	}
	return out
}

// resourceWarnings says what an operator should know about the limits.
func resourceWarnings(r schemas.PlannedResources) []string {
	if r.Pids == 0 {
		return []string{"resources.pids is unlimited: a fork bomb in the bottle can exhaust the host's processes"}
	}
	return nil
}

// formatResources writes the limits section of FormatPlan.
func formatResources(w io.Writer, r schemas.PlannedResources) {
	fmt.Fprintf(w, "\nResources (limits on the bottle's whole process tree):\n")
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "  pids\t%s\t%s\n", schemas.PidsLimit(r.Pids), origin(r.Origin["pids"]))
	fmt.Fprintf(tw, "  memory\t%s\t%s\n", schemas.MemoryLimit(r.MemoryBytes), origin(r.Origin["memory"]))
	fmt.Fprintf(tw, "  cpus\t%s\t%s\n", schemas.CPULimit(math.Round(r.CPUs*100)), origin(r.Origin["cpus"]))
	tw.Flush()
}

func origin(o string) string {
	if o == schemas.OriginDefault || o == "" {
		return "(default)"
	}
	return o
}
