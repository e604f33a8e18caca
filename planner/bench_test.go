package planner

import (
	"fmt"
	"strings"
	"testing"
)

// benchHome builds a 5-deep extends chain (l0 <- l1 <- ... <- l4 <- main)
// whose routes add up to n, a third of them authenticated, some overriding
// a parent's route for the same host.
func benchHome(b *testing.B, n int) *Planner {
	b.Helper()
	const depth = 5
	files := map[string]string{}
	per := n / (depth + 1)
	for level := 0; level <= depth; level++ {
		var sb strings.Builder
		name := fmt.Sprintf("l%d", level)
		if level == depth {
			name = "main"
		}
		if level > 0 {
			fmt.Fprintf(&sb, "extends: l%d\n", level-1)
		}
		fmt.Fprintf(&sb, "env: {LEVEL: \"%d\"}\negress:\n  routes:\n", level)
		count := per
		if level == depth {
			count = n - per*depth
		}
		for i := 0; i < count; i++ {
			fmt.Fprintf(&sb, "    - host: h%d-%d.example.com\n      path_allowlist: [/v1/, /v2/x]\n      methods: [GET, POST]\n", level, i)
			if i%3 == 0 {
				fmt.Fprintf(&sb, "      auth: {scheme: Bearer, token_ref: TOKEN_%d}\n", i%17)
			}
		}
		if level > 0 { // replace one route of the parent
			fmt.Fprintf(&sb, "    - host: h%d-0.example.com\n", level-1)
		}
		files[name+".yaml"] = sb.String()
	}
	return &Planner{Home: newHome(b, files)}
}

func benchmarkPlan(b *testing.B, n int) {
	p := benchHome(b, n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		plan, err := p.Plan("main")
		if err != nil {
			b.Fatal(err)
		}
		if len(plan.Routes) < n-10 {
			b.Fatalf("%d routes", len(plan.Routes))
		}
	}
}

// BenchmarkPlan10Routes and BenchmarkPlan5000Routes plan a bottle at the
// end of a 5-deep extends chain, reading and parsing all six files.
func BenchmarkPlan10Routes(b *testing.B)   { benchmarkPlan(b, 10) }
func BenchmarkPlan5000Routes(b *testing.B) { benchmarkPlan(b, 5000) }

func BenchmarkRenderRoutes5000(b *testing.B) {
	plan, err := benchHome(b, 5000).Plan("main")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RenderRoutes(plan); err != nil {
			b.Fatal(err)
		}
	}
}
