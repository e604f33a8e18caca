package planner

import (
	"slices"
	"testing"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// HostCheck is how the CLI adds what this machine cannot enforce; it sees
// the folded limits and its notes land among the plan's warnings.
func TestHostCheckAddsWarnings(t *testing.T) {
	home := newHome(t, map[string]string{"main.yaml": "resources: {memory: 64M}\n"})
	var seen schemas.PlannedResources
	p := &Planner{Home: home, HostCheck: func(plan *schemas.Plan) []string {
		seen = plan.Resources
		return []string{"local backend: cannot enforce memory here"}
	}}
	plan, err := p.Plan("main")
	if err != nil {
		t.Fatal(err)
	}
	if seen.MemoryBytes != 64<<20 || seen.Pids != schemas.DefaultPids {
		t.Errorf("HostCheck saw %+v", seen)
	}
	if !slices.Contains(plan.Warnings, "local backend: cannot enforce memory here") {
		t.Errorf("warnings %v", plan.Warnings)
	}
}
