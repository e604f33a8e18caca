package planner

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/bot-bottle/bot-bottle/schemas"
)

// FormatPlan writes plan for a person: what the bottle may reach, with which
// credential (by host variable, never by value), what the provider added and
// replaced, the agent's environment and the warnings.
func FormatPlan(w io.Writer, plan *schemas.Plan) error {
	var b strings.Builder
	formatAgent(&b, plan)
	fmt.Fprintf(&b, "Bottle %s\n  file:  %s\n  chain: %s\n", plan.Bottle, plan.Source, strings.Join(plan.Chain, " -> "))
	if p := plan.Provider; p != nil {
		fmt.Fprintf(&b, "  agent: %s", p.Template)
		if len(p.Command) > 0 {
			fmt.Fprintf(&b, " (runs %s)", strings.Join(p.Command, " "))
		}
		if p.Image != "" {
			fmt.Fprintf(&b, ", image %s", p.Image)
		}
		b.WriteString("\n")
		if len(p.Hosts) > 0 {
			fmt.Fprintf(&b, "  provider owns: %s\n", strings.Join(p.Hosts, ", "))
		}
	}
	fmt.Fprintf(&b, "  runtime: %s\n", runtimeLine(plan))

	fmt.Fprintf(&b, "\nRoutes (%d):\n", len(plan.Routes))
	tw := tabwriter.NewWriter(&b, 2, 8, 2, ' ', 0)
	for _, r := range plan.Routes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", routeHost(r), routeRule(r), routeAuth(r), r.Origin)
	}
	if len(plan.Routes) == 0 {
		fmt.Fprintf(tw, "  (none: every request is denied)\n")
	}
	tw.Flush()

	if len(plan.Replaced) > 0 {
		b.WriteString("\nReplaced routes:\n")
		for _, r := range plan.Replaced {
			fmt.Fprintf(&b, "  %s from %s, replaced by %s\n", r.Host, r.Origin, r.By)
		}
	}

	if len(plan.Slots) > 0 {
		b.WriteString("\nCredentials (injected by the proxy; the agent never sees them):\n")
		tw = tabwriter.NewWriter(&b, 2, 8, 2, ' ', 0)
		for _, s := range plan.Slots {
			state := "set"
			if !s.Set {
				state = "NOT SET"
			}
			fmt.Fprintf(tw, "  %s\t<- $%s (%s)\t%s\n", s.Slot, displayRef(s.TokenRef), state, strings.Join(s.Hosts, ", "))
		}
		tw.Flush()
	}

	b.WriteString("\nAgent environment (nothing else passes from the host):\n")
	tw = tabwriter.NewWriter(&b, 2, 8, 2, ' ', 0)
	for _, e := range plan.Env {
		fmt.Fprintf(tw, "  %s=%s\t(%s)\n", e.Name, e.Value, e.Source)
	}
	tw.Flush()
	for _, f := range plan.Files {
		note := FileNote(f.Path)
		if a := plan.Agent; a != nil && f.Path == a.Prompt.Into && a.Instructions != "" {
			note += "; then the agent's role and prompt"
		}
		fmt.Fprintf(&b, "  file ~/%s (mode %04o, %s)\n", f.Path, f.Mode, note)
	}

	formatGitGate(&b, plan.GitGate)
	formatWorkdir(&b, plan.Workdir)
	formatHide(&b, plan.Hide)
	formatResources(&b, plan.Resources)

	if len(plan.Warnings) > 0 {
		b.WriteString("\nWarnings:\n")
		for _, w := range plan.Warnings {
			fmt.Fprintf(&b, "  - %s\n", w)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func routeHost(r schemas.PlannedRoute) string {
	if r.Port != 0 {
		return fmt.Sprintf("%s:%d", r.Host, r.Port)
	}
	return r.Host
}

func routeRule(r schemas.PlannedRoute) string {
	if r.TLSPassthrough {
		return "TLS passthrough (host only, not decrypted)"
	}
	paths := "all paths"
	if len(r.PathAllowlist) > 0 {
		paths = "paths " + strings.Join(r.PathAllowlist, " ")
	}
	methods := "all methods"
	if len(r.Methods) > 0 {
		methods = strings.Join(r.Methods, ",")
	}
	if r.WebSocket {
		methods += "; WebSocket"
	}
	return paths + "; " + methods + "; dlp " + cmp.Or(r.DLP, schemas.DLPBlock)
}

func routeAuth(r schemas.PlannedRoute) string {
	if r.Auth == nil {
		return "no auth"
	}
	return fmt.Sprintf("%s <- $%s (%s)", r.Auth.Scheme, displayRef(r.Auth.TokenRef), r.Auth.Slot)
}

// displayRef names a host reference for a person; the Codex one is a file,
// not a variable.
func displayRef(ref string) string {
	if ref == CodexHostRef {
		return ref + " from ~/.codex/auth.json"
	}
	return ref
}
